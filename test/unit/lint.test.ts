import * as fs from "fs";
import * as path from "path";
import { parseDockerfile } from "../../src/images/dockerfile";
import { LINT_RULES, lintDockerfile, LintFinding } from "../../src/images/lint";

const rulesOf = (findings: LintFinding[]) => findings.map((finding) => finding.rule);
const only = (text: string, rule: string) =>
  lintDockerfile(text).filter((finding) => finding.rule === rule);

describe("parseDockerfile", () => {
  it("joins continuation lines, skips comments inside them and keeps the start line", () => {
    const parsed = parseDockerfile(
      [
        "FROM busybox:1.36",
        "# a comment",
        "RUN echo one \\",
        "  # comment inside the continuation",
        "",
        "  && echo two",
        'CMD ["sh"]',
      ].join("\n"),
    );
    expect(parsed.instructions.map((i) => [i.keyword, i.line])).toEqual([
      ["FROM", 1],
      ["RUN", 3],
      ["CMD", 7],
    ]);
    expect(parsed.instructions[1].args).toBe("echo one    && echo two");
    expect(parsed.instructions[2].json).toEqual(["sh"]);
  });

  it("honours the escape directive only at the top", () => {
    const parsed = parseDockerfile("# escape=`\nFROM busybox:1.36\nRUN echo a `\n  b\n");
    expect(parsed.escape).toBe("`");
    expect(parsed.instructions[1].args).toBe("echo a    b");
    const late = parseDockerfile("FROM busybox:1.36\n# escape=`\nRUN echo a `\n");
    expect(late.escape).toBe("\\");
  });

  it("records stages with lower-cased names, flags and heredoc bodies", () => {
    const parsed = parseDockerfile(
      [
        "FROM --platform=linux/amd64 busybox:1.36 AS Build",
        "RUN <<EOF",
        "echo from heredoc",
        "EOF",
        "FROM build",
        "COPY --from=build --chown=1:1 /a /b",
      ].join("\n"),
    );
    expect(parsed.stages).toEqual([
      { index: 0, name: "build", base: "busybox:1.36", line: 1 },
      { index: 1, name: undefined, base: "build", line: 5 },
    ]);
    expect(parsed.instructions[0].flags).toEqual([{ name: "platform", value: "linux/amd64" }]);
    expect(parsed.instructions[1].heredocs).toEqual(["echo from heredoc"]);
    expect(parsed.instructions[3].flags.map((flag) => flag.name)).toEqual(["from", "chown"]);
    expect(parsed.instructions[3].stage).toBe(1);
  });
});

describe("lintDockerfile on the notes' Dockerfile", () => {
  it("reports the notes' mistakes and nothing else", () => {
    const text = fs.readFileSync(
      path.join(__dirname, "../fixtures/images/notes.Dockerfile"),
      "utf8",
    );
    const findings = lintDockerfile(text);
    expect(findings.map((finding) => [finding.line, finding.rule, finding.severity])).toEqual([
      [2, "legacy-env-form", "info"],
      [3, "apt-lists-not-removed", "warning"],
      [3, "apt-no-install-recommends", "info"],
      [3, "unpinned-apt-packages", "warning"],
      [4, "apt-install-split", "info"],
      [4, "apt-lists-not-removed", "warning"],
      [4, "apt-no-install-recommends", "info"],
      [11, "tool-not-installed", "warning"],
      [13, "stopsignal-malformed", "error"],
      [14, "tool-not-installed", "warning"],
    ]);
    expect(findings[7].message).toContain("nginx");
    expect(findings[8].message).toContain("STOPSIGNAL SIGTERM");
    expect(findings[9].message).toContain("curl");
  });

  it("is clean once the mistakes are fixed", () => {
    const fixed = [
      "FROM ubuntu:bionic AS stage1",
      "ENV NGINX_VERSION=1.14.0-0ubuntu1.11",
      "RUN apt-get update \\",
      " && apt-get install -y --no-install-recommends curl=7.58.0-2ubuntu3 nginx=$NGINX_VERSION \\",
      " && rm -rf /var/lib/apt/lists/*",
      "WORKDIR /var/www/html",
      "",
      "FROM alpine:3.9.3",
      "RUN apk add --no-cache nginx=1.14.2-r1 curl=7.64.0-r1",
      "WORKDIR /root",
      "COPY --from=stage1 /var/www/html/index.html ./",
      'CMD ["nginx", "-g", "daemon off;"]',
      "STOPSIGNAL SIGTERM",
      "HEALTHCHECK CMD curl -f localhost:80",
    ].join("\n");
    expect(lintDockerfile(fixed)).toEqual([]);
  });
});

describe("lint rules", () => {
  it("documents every rule it can report", () => {
    const ids = LINT_RULES.map((rule) => rule.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("lintIgnore-style options drop rule ids", () => {
    const text = "FROM busybox\nCMD echo hi\n";
    expect(rulesOf(lintDockerfile(text))).toEqual(["base-image-latest", "shell-form-cmd"]);
    expect(rulesOf(lintDockerfile(text, { ignore: ["base-image-latest"] }))).toEqual([
      "shell-form-cmd",
    ]);
  });

  describe("unknown-instruction", () => {
    it("fires on a misspelled keyword", () => {
      expect(only("FROM busybox:1.36\nRUNN echo\n", "unknown-instruction")).toHaveLength(1);
    });
    it("accepts known keywords in any case", () => {
      expect(only("from busybox:1.36\nrun echo\n", "unknown-instruction")).toEqual([]);
    });
  });

  describe("missing-from", () => {
    it("fires on an instruction before FROM", () => {
      expect(only("RUN echo\nFROM busybox:1.36\n", "missing-from")).toHaveLength(1);
    });
    it("allows ARG before FROM", () => {
      expect(only("ARG V=1.36\nFROM busybox:$V\n", "missing-from")).toEqual([]);
    });
  });

  describe("malformed-json-form", () => {
    it("fires on single-quoted exec form", () => {
      const findings = only("FROM busybox:1.36\nCMD ['sh', '-c', 'echo']\n", "malformed-json-form");
      expect(findings).toHaveLength(1);
      expect(findings[0].message).toContain('["executable", "arg"]');
    });
    it("accepts valid JSON", () => {
      expect(only('FROM busybox:1.36\nCMD ["sh"]\n', "malformed-json-form")).toEqual([]);
    });
  });

  describe("base-image-latest", () => {
    it("fires on untagged and latest bases", () => {
      expect(only("FROM busybox\nFROM reg:5000/a/b:latest\n", "base-image-latest")).toHaveLength(2);
    });
    it("accepts tags, digests, scratch, ARG bases and earlier stages", () => {
      const text = [
        "ARG BASE=busybox:1.36",
        "FROM reg:5000/busybox:1.36 AS one",
        "FROM busybox@sha256:0123",
        "FROM scratch",
        "FROM $BASE",
        "FROM one",
      ].join("\n");
      expect(only(text, "base-image-latest")).toEqual([]);
    });
  });

  describe("apt-get-update-alone", () => {
    it("fires on apt-get update in its own RUN", () => {
      const text =
        "FROM debian:12\nRUN apt-get update\nRUN apt-get install -y --no-install-recommends curl=1 && rm -rf /var/lib/apt/lists/*\n";
      const findings = only(text, "apt-get-update-alone");
      expect(findings.map((finding) => finding.line)).toEqual([2]);
      expect(findings[0].message).toContain("apt-get update && apt-get install");
    });
    it("accepts update and install in one RUN", () => {
      expect(
        only(
          "FROM debian:12\nRUN apt-get update && apt-get install -y curl\n",
          "apt-get-update-alone",
        ),
      ).toEqual([]);
    });
  });

  describe("apt-lists-not-removed", () => {
    it("fires when the lists stay in the layer", () => {
      expect(
        only(
          "FROM debian:12\nRUN apt-get update && apt-get install -y curl\n",
          "apt-lists-not-removed",
        ),
      ).toHaveLength(1);
    });
    it("accepts rm -rf /var/lib/apt/lists/* in the same RUN", () => {
      expect(
        only(
          "FROM debian:12\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n",
          "apt-lists-not-removed",
        ),
      ).toEqual([]);
    });
  });

  describe("unpinned-apt-packages", () => {
    it("fires on packages without =version and names them", () => {
      const findings = only(
        "FROM debian:12\nRUN apt-get install -y curl git=1:2.39\n",
        "unpinned-apt-packages",
      );
      expect(findings).toHaveLength(1);
      expect(findings[0].message).toContain("curl");
      expect(findings[0].message).not.toContain("git");
    });
    it("accepts pinned packages, also pinned through a variable", () => {
      expect(
        only(
          "FROM debian:12\nRUN apt-get install -y curl=7.88 nginx=$V\n",
          "unpinned-apt-packages",
        ),
      ).toEqual([]);
    });
  });

  describe("apt-no-install-recommends", () => {
    it("fires without --no-install-recommends", () => {
      expect(
        only("FROM debian:12\nRUN apt-get install -y curl=1\n", "apt-no-install-recommends"),
      ).toHaveLength(1);
    });
    it("accepts --no-install-recommends", () => {
      expect(
        only(
          "FROM debian:12\nRUN apt-get install --no-install-recommends -y curl=1\n",
          "apt-no-install-recommends",
        ),
      ).toEqual([]);
    });
  });

  describe("apt-install-split", () => {
    it("fires on a second installing RUN in the same stage", () => {
      const text = "FROM debian:12\nRUN apt-get install -y a=1\nRUN apt-get install -y b=1\n";
      expect(only(text, "apt-install-split").map((finding) => finding.line)).toEqual([3]);
    });
    it("accepts one install per stage", () => {
      const text =
        "FROM debian:12\nRUN apt-get install -y a=1\nFROM debian:12\nRUN apt-get install -y b=1\n";
      expect(only(text, "apt-install-split")).toEqual([]);
    });
  });

  describe("add-local-files", () => {
    it("fires on ADD of a plain local file", () => {
      const findings = only("FROM busybox:1.36\nADD app.conf /etc/app.conf\n", "add-local-files");
      expect(findings).toHaveLength(1);
      expect(findings[0].message).toContain("COPY");
    });
    it("accepts ADD of URLs and tar archives", () => {
      const text =
        'FROM busybox:1.36\nADD https://example.com/a.bin /a\nADD rootfs.tar.gz /\nADD ["b.tgz", "/b"]\n';
      expect(only(text, "add-local-files")).toEqual([]);
    });
  });

  describe("multiple-cmd", () => {
    it("fires on the overridden CMD of a stage", () => {
      const text = 'FROM busybox:1.36\nCMD ["a"]\nCMD ["b"]\n';
      expect(only(text, "multiple-cmd").map((finding) => finding.line)).toEqual([2]);
    });
    it("counts per stage, so one CMD in each stage is fine", () => {
      const text =
        'FROM busybox:1.36 AS a\nCMD ["a"]\nFROM busybox:1.36\nCMD ["b"]\nENTRYPOINT ["c"]\n';
      expect(only(text, "multiple-cmd")).toEqual([]);
    });
  });

  describe("relative-workdir", () => {
    it("fires on a relative first WORKDIR", () => {
      const findings = only("FROM busybox:1.36\nWORKDIR app\n", "relative-workdir");
      expect(findings).toHaveLength(1);
      expect(findings[0].message).toContain("WORKDIR /app");
    });
    it("accepts relative WORKDIR after an absolute one, also inherited from a stage", () => {
      const text =
        "FROM busybox:1.36 AS base\nWORKDIR /srv\nWORKDIR app\nFROM base\nWORKDIR more\n";
      expect(only(text, "relative-workdir")).toEqual([]);
    });
  });

  describe("stopsignal-malformed", () => {
    it("fires on `STOPSIGNAL signal SIGTERM` and on an empty one", () => {
      const findings = only(
        "FROM busybox:1.36\nSTOPSIGNAL signal SIGTERM\nSTOPSIGNAL\n",
        "stopsignal-malformed",
      );
      expect(findings).toHaveLength(2);
      expect(findings[0].message).toContain("Write STOPSIGNAL SIGTERM");
    });
    it("accepts names, numbers, real-time signals and variables", () => {
      const text =
        "FROM busybox:1.36\nSTOPSIGNAL SIGQUIT\nSTOPSIGNAL 9\nSTOPSIGNAL SIGRTMIN+3\nSTOPSIGNAL $SIG\n";
      expect(only(text, "stopsignal-malformed")).toEqual([]);
    });
  });

  describe("healthcheck-malformed", () => {
    it.each([
      ["HEALTHCHECK --interval=often CMD true", "duration"],
      ["HEALTHCHECK --retries=x CMD true", "whole number"],
      ["HEALTHCHECK --every=5s CMD true", "unknown option --every"],
      ["HEALTHCHECK curl localhost", "HEALTHCHECK [options] CMD"],
      ["HEALTHCHECK CMD", "no command"],
      ["HEALTHCHECK NONE CMD true", "NONE takes no"],
    ])("fires on %s", (line, expected) => {
      const findings = only(`FROM busybox:1.36\n${line}\n`, "healthcheck-malformed");
      expect(findings).toHaveLength(1);
      expect(findings[0].message).toContain(expected);
    });
    it("accepts valid forms", () => {
      const text = [
        "FROM busybox:1.36",
        'HEALTHCHECK --interval=30s --timeout=1m30s --start-period=5s --start-interval=1s --retries=3 CMD ["true"]',
        "HEALTHCHECK CMD wget -q -O /dev/null http://localhost/",
        "HEALTHCHECK NONE",
      ].join("\n");
      expect(only(text, "healthcheck-malformed")).toEqual([]);
    });
  });

  describe("shell-form-cmd", () => {
    it("fires on shell-form CMD and ENTRYPOINT and proposes the JSON form", () => {
      const findings = only(
        "FROM busybox:1.36\nENTRYPOINT /app\nCMD nginx -g 'daemon off;'\n",
        "shell-form-cmd",
      );
      expect(findings).toHaveLength(2);
      expect(findings[1].message).toContain('CMD ["nginx","-g","daemon off;"]');
    });
    it("accepts JSON form", () => {
      expect(only('FROM busybox:1.36\nENTRYPOINT ["/app"]\nCMD ["x"]\n', "shell-form-cmd")).toEqual(
        [],
      );
    });
  });

  describe("legacy-env-form", () => {
    it("fires on `ENV key value` and quotes values with spaces", () => {
      const findings = only("FROM busybox:1.36\nENV GREETING hello world\n", "legacy-env-form");
      expect(findings).toHaveLength(1);
      expect(findings[0].message).toContain('ENV GREETING="hello world"');
    });
    it("accepts key=value", () => {
      expect(only("FROM busybox:1.36\nENV A=1 B=2\n", "legacy-env-form")).toEqual([]);
    });
  });

  describe("tool-not-installed", () => {
    it("fires when an alpine stage probes with curl", () => {
      expect(
        only("FROM alpine:3.19\nHEALTHCHECK CMD curl -f localhost\n", "tool-not-installed"),
      ).toHaveLength(1);
    });
    it("fires on shell form in scratch (no /bin/sh) and on JSON sh -c scripts", () => {
      const scratch = only("FROM scratch\nCMD run-it\n", "tool-not-installed");
      expect(scratch).toHaveLength(1);
      expect(scratch[0].message).toContain("/bin/sh");
      const script = only('FROM busybox:1.36\nCMD ["sh", "-c", "bash -l"]\n', "tool-not-installed");
      expect(script[0].message).toContain("runs bash");
    });
    it("follows FROM an earlier stage to its base", () => {
      const text = "FROM alpine:3.19 AS base\nFROM base\nRUN curl -O http://x/\n";
      expect(only(text, "tool-not-installed").map((finding) => finding.line)).toEqual([3]);
    });
    it("accepts tools the base ships, installs, copies and inherited installs", () => {
      const text = [
        "FROM alpine:3.19 AS base",
        "RUN apk add --no-cache curl=8.5.0-r0 && curl -V",
        "HEALTHCHECK CMD wget -q -O /dev/null http://localhost/",
        "FROM base",
        "HEALTHCHECK CMD curl -f localhost",
        "FROM busybox:1.36",
        "COPY --from=base /usr/bin/curl /usr/bin/curl",
        'CMD ["curl", "localhost"]',
      ].join("\n");
      expect(only(text, "tool-not-installed")).toEqual([]);
    });
    it("stays silent for bases it does not know", () => {
      expect(
        only("FROM debian:12\nHEALTHCHECK CMD curl -f localhost\n", "tool-not-installed"),
      ).toEqual([]);
    });
    it("does not count an install that comes after the use", () => {
      const text = "FROM alpine:3.19\nRUN curl -V\nRUN apk add curl\n";
      expect(only(text, "tool-not-installed").map((finding) => finding.line)).toEqual([2]);
    });
  });
});
