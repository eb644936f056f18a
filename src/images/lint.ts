/**
 * `lintDockerfile`: the notes' tips on efficient images and the Dockerfile reference's syntax as
 * rules. Every finding names the fix. Pure: no file system, no engine.
 */
import {
  commandsOf,
  DockerfileInstruction,
  parseDockerfile,
  ParsedDockerfile,
  programOf,
  splitShellCommands,
} from "./dockerfile";

/**
 * How bad a Dockerfile finding is. A named object as well as a type, so other Pulumi languages
 * see an enum (the schema analyser only names literal unions declared this way).
 */
export const LintSeverity = { Error: "error", Warning: "warning", Info: "info" } as const;
export type LintSeverity = (typeof LintSeverity)[keyof typeof LintSeverity];

export interface LintFinding {
  /** Rule id, e.g. `apt-get-update-alone`; usable in `lintIgnore`. */
  readonly rule: string;
  /** 1-based line of the instruction the finding is about. */
  readonly line: number;
  /** `error`, `warning` or `info`. */
  readonly severity: LintSeverity;
  /** What is wrong and how to fix it. */
  readonly message: string;
}

export interface LintOptions {
  /** Rule ids to skip. Default: none. */
  readonly ignore?: readonly string[];
}

export interface LintRule {
  readonly id: string;
  readonly severity: LintSeverity;
  readonly description: string;
}

/** Every rule, for documentation and for validating `lintIgnore`. */
export const LINT_RULES: readonly LintRule[] = [
  {
    id: "unknown-instruction",
    severity: "error",
    description: "an instruction the builder does not know",
  },
  {
    id: "missing-from",
    severity: "error",
    description: "instructions other than ARG before the first FROM",
  },
  {
    id: "malformed-json-form",
    severity: "warning",
    description:
      "arguments start with `[` but are not a JSON array of double-quoted strings, so they run as shell form",
  },
  {
    id: "base-image-latest",
    severity: "warning",
    description: "FROM an image without a tag or with `latest`",
  },
  {
    id: "apt-get-update-alone",
    severity: "warning",
    description: "`apt-get update` in a RUN without the install it serves",
  },
  {
    id: "apt-lists-not-removed",
    severity: "warning",
    description: "`apt-get install` leaves /var/lib/apt/lists in the layer",
  },
  {
    id: "unpinned-apt-packages",
    severity: "warning",
    description: "`apt-get install` of packages without `=version`",
  },
  {
    id: "apt-no-install-recommends",
    severity: "info",
    description: "`apt-get install` without `--no-install-recommends`",
  },
  {
    id: "apt-install-split",
    severity: "info",
    description: "several RUN lines in one stage each install packages (one layer each)",
  },
  {
    id: "add-local-files",
    severity: "warning",
    description: "ADD of local files that are not tar archives (use COPY)",
  },
  {
    id: "multiple-cmd",
    severity: "warning",
    description: "more than one CMD or ENTRYPOINT in a stage; only the last counts",
  },
  {
    id: "relative-workdir",
    severity: "warning",
    description: "a stage's first WORKDIR is relative to an unknown directory",
  },
  {
    id: "stopsignal-malformed",
    severity: "error",
    description: "STOPSIGNAL that is not one signal name or number",
  },
  {
    id: "healthcheck-malformed",
    severity: "error",
    description: "HEALTHCHECK with unknown or invalid options, no CMD, or NONE with arguments",
  },
  {
    id: "shell-form-cmd",
    severity: "warning",
    description: "CMD or ENTRYPOINT in shell form (signals go to /bin/sh, not the program)",
  },
  {
    id: "legacy-env-form",
    severity: "info",
    description: "`ENV key value` instead of `ENV key=value`",
  },
  {
    id: "tool-not-installed",
    severity: "warning",
    description: "a stage runs a well-known tool its base image does not ship and no RUN installs",
  },
];

const KNOWN_INSTRUCTIONS = new Set([
  "FROM",
  "RUN",
  "CMD",
  "LABEL",
  "MAINTAINER",
  "EXPOSE",
  "ENV",
  "ADD",
  "COPY",
  "ENTRYPOINT",
  "VOLUME",
  "USER",
  "WORKDIR",
  "ARG",
  "ONBUILD",
  "STOPSIGNAL",
  "HEALTHCHECK",
  "SHELL",
]);

/** Lints Dockerfile text; findings are sorted by line, then rule id. */
export function lintDockerfile(text: string, options: LintOptions = {}): LintFinding[] {
  const parsed = parseDockerfile(text);
  const findings: LintFinding[] = [];
  const report = (rule: string, instruction: { line: number }, message: string) => {
    const definition = LINT_RULES.find((candidate) => candidate.id === rule);
    if (!definition) throw new Error(`internal: unknown lint rule ${rule}`);
    findings.push({ rule, line: instruction.line, severity: definition.severity, message });
  };
  checkSyntax(parsed, report);
  checkBaseImages(parsed, report);
  checkApt(parsed, report);
  checkAdd(parsed, report);
  checkStageMetadata(parsed, report);
  checkStopSignal(parsed, report);
  checkHealthcheck(parsed, report);
  checkTools(parsed, report);
  const ignore = new Set(options.ignore ?? []);
  return findings
    .filter((finding) => !ignore.has(finding.rule))
    .sort((a, b) => a.line - b.line || a.rule.localeCompare(b.rule));
}

type Report = (rule: string, instruction: { line: number }, message: string) => void;

function checkSyntax(parsed: ParsedDockerfile, report: Report): void {
  let seenFrom = false;
  for (const instruction of parsed.instructions) {
    if (!KNOWN_INSTRUCTIONS.has(instruction.keyword)) {
      report(
        "unknown-instruction",
        instruction,
        `unknown instruction "${instruction.keyword}": the build fails here. Fix the keyword's spelling, or join it to the previous line with a trailing "${parsed.escape}" if it continues that instruction.`,
      );
      continue;
    }
    if (instruction.keyword === "FROM") seenFrom = true;
    else if (!seenFrom && instruction.keyword !== "ARG") {
      report(
        "missing-from",
        instruction,
        `${instruction.keyword} before the first FROM: only ARG may come before FROM. Move it below a FROM line.`,
      );
    }
    if (instruction.keyword === "ENV" && instruction.args !== "") {
      const [key = ""] = instruction.args.split(/\s+/);
      if (!key.includes("=")) {
        const value = instruction.args.slice(key.length).trim();
        report(
          "legacy-env-form",
          instruction,
          `ENV ${key} <value> is the legacy form (one variable, the rest of the line is its value). Write ENV ${key}=${/[\s"'$]/.test(value) ? JSON.stringify(value) : value}.`,
        );
      }
    }
    if (instruction.malformedJson && JSON_FORM_KEYWORDS.has(instruction.keyword)) {
      report(
        "malformed-json-form",
        instruction,
        `${instruction.keyword} arguments start with "[" but are not a JSON array of strings, so Docker runs them through /bin/sh as text. Use double quotes and commas: ${instruction.keyword} ["executable", "arg"].`,
      );
    }
  }
}

const JSON_FORM_KEYWORDS = new Set(["RUN", "CMD", "ENTRYPOINT", "SHELL", "VOLUME", "COPY", "ADD"]);

function checkBaseImages(parsed: ParsedDockerfile, report: Report): void {
  const stageNames = new Set<string>();
  for (const stage of parsed.stages) {
    const base = stage.base;
    const isStage = stageNames.has(base.toLowerCase());
    if (stage.name) stageNames.add(stage.name);
    if (isStage || base === "" || base.toLowerCase() === "scratch" || base.includes("$")) continue;
    if (base.includes("@")) continue;
    const lastSegment = base.split("/").pop() ?? base;
    const tag = lastSegment.includes(":") ? lastSegment.split(":").pop() : undefined;
    if (tag === undefined || tag === "latest") {
      report(
        "base-image-latest",
        stage,
        `FROM ${base} ${tag === undefined ? "has no tag, which means latest" : "uses latest"}: the base changes under you between builds. Pin a version tag or a digest, e.g. FROM ${base.replace(/:latest$/, "")}:<version>.`,
      );
    }
  }
}

function isAptInstall(words: readonly string[]): boolean {
  const program = programOf(words);
  return (program === "apt-get" || program === "apt") && words.includes("install");
}

function isAptUpdate(words: readonly string[]): boolean {
  const program = programOf(words);
  return (program === "apt-get" || program === "apt") && words.includes("update");
}

function checkApt(parsed: ParsedDockerfile, report: Report): void {
  const installsPerStage = new Map<number, DockerfileInstruction[]>();
  for (const instruction of parsed.instructions) {
    if (instruction.keyword !== "RUN") continue;
    const commands = commandsOf(instruction);
    const installs = commands.filter(isAptInstall);
    if (commands.some(isAptUpdate) && installs.length === 0) {
      report(
        "apt-get-update-alone",
        instruction,
        "apt-get update in a RUN without apt-get install: the build cache keeps this layer, so a later install uses stale package lists. Combine them: RUN apt-get update && apt-get install -y --no-install-recommends <pkg>=<version> && rm -rf /var/lib/apt/lists/*.",
      );
    }
    if (installs.length === 0) continue;
    installsPerStage.set(instruction.stage, [
      ...(installsPerStage.get(instruction.stage) ?? []),
      instruction,
    ]);
    const cleaned = commands.some(
      (words) =>
        programOf(words) === "rm" && words.some((word) => word.startsWith("/var/lib/apt/lists")),
    );
    if (!cleaned) {
      report(
        "apt-lists-not-removed",
        instruction,
        "apt-get install leaves the package lists (/var/lib/apt/lists, tens of MB) in this layer. End the same RUN with && rm -rf /var/lib/apt/lists/*.",
      );
    }
    const unpinned: string[] = [];
    let recommends = true;
    for (const words of installs) {
      if (words.includes("--no-install-recommends")) recommends = false;
      const afterInstall = words.slice(words.indexOf("install") + 1);
      for (const word of afterInstall) {
        if (word.startsWith("-") || word.includes("=") || word.endsWith(".deb")) continue;
        unpinned.push(word);
      }
    }
    if (unpinned.length > 0) {
      report(
        "unpinned-apt-packages",
        instruction,
        `apt-get install of unpinned package(s) ${unpinned.join(", ")}: rebuilds silently pick up new versions. Pin them, e.g. ${unpinned[0]}=<version> (apt-cache policy ${unpinned[0]} shows the candidates).`,
      );
    }
    if (recommends) {
      report(
        "apt-no-install-recommends",
        instruction,
        "apt-get install without --no-install-recommends also installs recommended packages the image rarely needs. Add --no-install-recommends.",
      );
    }
  }
  for (const installs of installsPerStage.values()) {
    for (const instruction of installs.slice(1)) {
      report(
        "apt-install-split",
        instruction,
        `this stage already installs packages in the RUN on line ${installs[0].line}: each RUN is a layer and each repeats apt-get update. Install all packages in one RUN.`,
      );
    }
  }
}

const TAR_SOURCE = /\.(tar|tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar\.zst)$/i;

function checkAdd(parsed: ParsedDockerfile, report: Report): void {
  for (const instruction of parsed.instructions) {
    if (instruction.keyword !== "ADD") continue;
    const words = instruction.json ?? splitShellCommands(instruction.args)[0] ?? [];
    const sources = instruction.heredocs.length > 0 ? [] : words.slice(0, -1);
    const local = sources.filter(
      (source) =>
        !/^(https?|git):\/\//i.test(source) && !/^git@/.test(source) && !TAR_SOURCE.test(source),
    );
    if (local.length > 0) {
      report(
        "add-local-files",
        instruction,
        `ADD of local file(s) ${local.join(", ")}: ADD also unpacks archives and fetches URLs, which surprises readers. Use COPY for plain files (keep ADD for URLs and tar archives to unpack).`,
      );
    }
  }
}

function checkStageMetadata(parsed: ParsedDockerfile, report: Report): void {
  const absoluteWorkdir = new Map<number, boolean>();
  const stageByName = new Map<string, number>();
  for (const stage of parsed.stages) {
    if (stage.name) stageByName.set(stage.name, stage.index);
  }
  for (const stage of parsed.stages) {
    const own = parsed.instructions.filter((instruction) => instruction.stage === stage.index);
    for (const keyword of ["CMD", "ENTRYPOINT"]) {
      const all = own.filter((instruction) => instruction.keyword === keyword);
      for (const earlier of all.slice(0, -1)) {
        report(
          "multiple-cmd",
          earlier,
          `${keyword} on line ${earlier.line} is overridden by the ${keyword} on line ${all[all.length - 1].line} in the same stage: only the last one counts. Keep one ${keyword} per stage.`,
        );
      }
    }
    for (const instruction of own) {
      if (
        (instruction.keyword === "CMD" || instruction.keyword === "ENTRYPOINT") &&
        !instruction.json &&
        instruction.args !== ""
      ) {
        report(
          "shell-form-cmd",
          instruction,
          `${instruction.keyword} in shell form runs under /bin/sh -c, which becomes PID 1 and does not pass SIGTERM on, so the container is killed after the stop timeout. Use the JSON form: ${instruction.keyword} ${JSON.stringify(splitShellCommands(instruction.args)[0] ?? [])}.`,
        );
      }
    }
    const parentStage = stageByName.get(stage.base.toLowerCase());
    let known =
      parentStage !== undefined &&
      parentStage < stage.index &&
      absoluteWorkdir.get(parentStage) === true;
    for (const instruction of own) {
      if (instruction.keyword !== "WORKDIR") continue;
      const path = instruction.args.replace(/^["']|["']$/g, "");
      const absolute = path.startsWith("/") || path.startsWith("$") || /^[A-Za-z]:[\\/]/.test(path);
      if (!known && !absolute) {
        report(
          "relative-workdir",
          instruction,
          `WORKDIR ${path} is relative, so it depends on the base image's working directory. Use an absolute path, e.g. WORKDIR /${path.replace(/^\.\/?/, "")}.`,
        );
      }
      known = true;
    }
    absoluteWorkdir.set(stage.index, known);
  }
}

const SIGNAL = /^(SIG)?[A-Z][A-Z0-9]*([+-]\d+)?$|^\d+$|^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$/;

function checkStopSignal(parsed: ParsedDockerfile, report: Report): void {
  for (const instruction of parsed.instructions) {
    if (instruction.keyword !== "STOPSIGNAL") continue;
    const words = instruction.args.split(/\s+/).filter((word) => word !== "");
    if (words.length === 1 && SIGNAL.test(words[0])) continue;
    const guess = words.find((word) => /^SIG[A-Z]/.test(word)) ?? "SIGTERM";
    report(
      "stopsignal-malformed",
      instruction,
      `STOPSIGNAL takes exactly one signal name or number, got "${instruction.args}". Write STOPSIGNAL ${guess}.`,
    );
  }
}

const HEALTHCHECK_DURATIONS = new Set(["interval", "timeout", "start-period", "start-interval"]);
const DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

function checkHealthcheck(parsed: ParsedDockerfile, report: Report): void {
  for (const instruction of parsed.instructions) {
    if (instruction.keyword !== "HEALTHCHECK") continue;
    const problems: string[] = [];
    for (const flag of instruction.flags) {
      if (HEALTHCHECK_DURATIONS.has(flag.name)) {
        if (flag.value === undefined || !DURATION.test(flag.value)) {
          problems.push(`--${flag.name} needs a duration such as 30s or 1m30s`);
        }
      } else if (flag.name === "retries") {
        if (flag.value === undefined || !/^\d+$/.test(flag.value)) {
          problems.push("--retries needs a whole number");
        }
      } else {
        problems.push(
          `unknown option --${flag.name} (known: --interval, --timeout, --start-period, --start-interval, --retries)`,
        );
      }
    }
    const [first = "", ...rest] = instruction.args.split(/\s+/).filter((word) => word !== "");
    const mode = first.toUpperCase();
    if (mode === "NONE") {
      if (rest.length > 0 || instruction.flags.length > 0) {
        problems.push("NONE takes no options or arguments");
      }
    } else if (mode !== "CMD") {
      problems.push(
        `it must be HEALTHCHECK [options] CMD <command> or HEALTHCHECK NONE, got "${first}"`,
      );
    } else if (rest.length === 0) {
      problems.push("CMD has no command");
    }
    if (problems.length > 0) {
      report(
        "healthcheck-malformed",
        instruction,
        `HEALTHCHECK is malformed: ${problems.join("; ")}. Example: HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ["wget", "-q", "-O", "/dev/null", "http://localhost:8080/"].`,
      );
    }
  }
}

/** Tools the rule knows about; others are never reported. */
const KNOWN_TOOLS = ["curl", "wget", "nginx", "bash", "git", "jq", "python3", "nc", "sh"] as const;

/**
 * Bases known NOT to ship some of the known tools. Only these bases are judged: a Debian or Node
 * image may or may not have curl, so the rule stays silent there.
 */
const BASE_TOOLS: readonly { match: RegExp; has: readonly string[]; kind: string }[] = [
  { match: /^scratch$/, has: [], kind: "scratch (an empty image)" },
  {
    match: /(^|\/)distroless\/.*:.*debug/,
    has: ["sh", "wget", "nc"],
    kind: "distroless debug (busybox)",
  },
  { match: /(^|\/)distroless\//, has: [], kind: "distroless (no shell, no tools)" },
  { match: /(^|\/)busybox(:|@|$)/, has: ["sh", "wget", "nc"], kind: "busybox" },
  {
    match: /(^|\/)alpine(:|@|$)/,
    has: ["sh", "wget", "nc"],
    kind: "alpine (busybox applets only)",
  },
];

const INSTALLERS: readonly { program: string; sub: readonly string[] }[] = [
  { program: "apk", sub: ["add"] },
  { program: "apt-get", sub: ["install"] },
  { program: "apt", sub: ["install"] },
  { program: "yum", sub: ["install"] },
  { program: "dnf", sub: ["install"] },
  { program: "microdnf", sub: ["install"] },
];

function toolsProvidedBy(pkg: string): string[] {
  const name = pkg.split(/[=<>~]/)[0].toLowerCase();
  const tools: string[] = KNOWN_TOOLS.filter(
    (tool) => name === tool || name.startsWith(`${tool}-`) || name.startsWith(`${tool}=`),
  );
  if (name.startsWith("netcat") || name.startsWith("ncat")) tools.push("nc");
  if (name === "python3" || name.startsWith("python3")) tools.push("python3");
  if (name === "busybox" || name === "busybox-static" || name === "busybox-extras")
    tools.push("sh", "wget", "nc");
  return tools;
}

interface StageTools {
  /** Undefined when the base is not one the rule knows: nothing is reported for it. */
  readonly baseHas?: ReadonlySet<string>;
  readonly kind: string;
  readonly installed: Set<string>;
}

function checkTools(parsed: ParsedDockerfile, report: Report): void {
  const byIndex = new Map<number, StageTools>();
  const stageByName = new Map<string, number>();
  for (const stage of parsed.stages) {
    const parentIndex = stageByName.get(stage.base.toLowerCase());
    if (stage.name) stageByName.set(stage.name, stage.index);
    let tools: StageTools;
    if (parentIndex !== undefined) {
      // FROM an earlier stage: it starts with whatever that stage had and installed.
      const parent = byIndex.get(parentIndex) as StageTools;
      tools = { baseHas: parent.baseHas, kind: parent.kind, installed: new Set(parent.installed) };
    } else {
      const base = stage.base.toLowerCase();
      const known = BASE_TOOLS.find((entry) => entry.match.test(base));
      tools = {
        baseHas: known && new Set(known.has),
        kind: known?.kind ?? "",
        installed: new Set(),
      };
    }
    byIndex.set(stage.index, tools);
    if (!tools.baseHas) continue;
    const baseHas = tools.baseHas;
    const has = (tool: string) => baseHas.has(tool) || tools.installed.has(tool);

    for (const instruction of parsed.instructions) {
      if (instruction.stage !== stage.index) continue;
      if (instruction.keyword === "COPY" || instruction.keyword === "ADD") {
        // A copied binary named like the tool counts as installing it.
        const words = instruction.json ?? instruction.args.split(/\s+/);
        for (const word of words) {
          const last = word.replace(/\/$/, "").split("/").pop() ?? "";
          if ((KNOWN_TOOLS as readonly string[]).includes(last)) tools.installed.add(last);
        }
        continue;
      }
      const runs = ["RUN", "CMD", "ENTRYPOINT"].includes(instruction.keyword);
      let commands: string[][] = [];
      let shellForm = false;
      if (runs) {
        commands = commandsOf(instruction);
        shellForm = !instruction.json && instruction.args !== "";
      } else if (instruction.keyword === "HEALTHCHECK") {
        const match = /^CMD\s+([\s\S]*)$/i.exec(instruction.args);
        if (!match) continue;
        const body = match[1].trim();
        let json: string[] | undefined;
        try {
          const value: unknown = JSON.parse(body);
          if (Array.isArray(value) && value.every((item) => typeof item === "string"))
            json = value as string[];
        } catch {
          json = undefined;
        }
        commands = json
          ? commandsOf({ ...instruction, json, args: body })
          : splitShellCommands(body);
        shellForm = !json;
      } else {
        continue;
      }
      const missing = new Set<string>();
      if (shellForm && !has("sh")) missing.add("sh");
      // In order, so `apk add curl && curl ...` in one RUN counts as installed before use.
      for (const words of commands) {
        const program = programOf(words);
        if (program && (KNOWN_TOOLS as readonly string[]).includes(program) && !has(program)) {
          missing.add(program);
        }
        const installer = INSTALLERS.find((entry) => entry.program === program);
        if (instruction.keyword !== "RUN" || !installer) continue;
        const subIndex = words.findIndex((word) => installer.sub.includes(word));
        if (subIndex < 0) continue;
        for (const pkg of words.slice(subIndex + 1)) {
          if (pkg.startsWith("-")) continue;
          for (const tool of toolsProvidedBy(pkg)) tools.installed.add(tool);
        }
      }
      for (const tool of missing) {
        const fix =
          tool === "sh"
            ? `Use the JSON form so no shell is needed, or base the stage on an image with /bin/sh.`
            : `Install it in this stage (e.g. RUN apk add --no-cache ${tool} on alpine), copy it in with COPY --from, or use a tool the base has${baseHas.has("wget") && tool === "curl" ? " (busybox wget: wget -q -O /dev/null http://localhost/)" : ""}.`;
        report(
          "tool-not-installed",
          instruction,
          `${instruction.keyword} runs ${tool === "sh" ? "/bin/sh (shell form)" : tool}, but this stage's base is ${tools.kind}, which does not ship it, and no earlier RUN or COPY in the stage installs it: it fails with "not found". ${fix}`,
        );
      }
    }
  }
}
