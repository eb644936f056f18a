/**
 * The test infrastructure itself: simulated remote Docker hosts (test/support/hosts.ts) and a
 * Swarm across them (test/support/swarm.ts), proven for real. Two hosts: docker over ssh answers
 * with each host's own engine; hosts reach each other and the main namespace both ways; each has
 * its own files; sshd takes only the run's key; ctr works against the host's own containerd; the
 * engine can be stopped and started with its data; a 2-node swarm runs a host-mode service with a
 * secret on both nodes and leaves. A second, concurrent run gets its own slot and subnet and
 * cannot reach the first; when its owner dies, the sweep removes it. After stop() nothing is
 * left: no namespace, link, cgroup, mount, process or directory.
 */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { mustRun, runCommand } from "../support/command";
import { TEST_IMAGES } from "../support/engine";
import { cleanupAll } from "../support/harness";
import {
  describeWithTestHosts,
  findLeftovers,
  startTestHosts,
  TEST_HOSTS_SCRIPTS,
  TestHostsRun,
} from "../support/hosts";
import { reportFigure } from "../support/probes";
import { createSwarm, swarmState, waitForServiceTasks } from "../support/swarm";

jest.setTimeout(300_000);

/** The first bytes a TCP server at host:port sends (an ssh banner), from this namespace. */
function banner(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, timeout: 10_000 });
    socket.once("data", (d) => {
      socket.destroy();
      resolve(d.toString("utf8"));
    });
    socket.once("timeout", () => {
      socket.destroy();
      reject(new Error(`no data from ${host}:${port} within 10 s`));
    });
    socket.once("error", reject);
  });
}

/** GET http://host:port/path from this namespace, retried (bounded) while the server starts. */
async function httpGetText(host: string, port: number, file: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://${host}:${port}/${file}`, {
        signal: AbortSignal.timeout(5_000),
      });
      if (res.ok) return (await res.text()).trim();
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`GET http://${host}:${port}/${file} did not succeed within 30 s: ${last}`);
}

function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

describeWithTestHosts("simulated remote hosts and swarm (test infrastructure)", () => {
  let run: TestHostsRun;
  let startMs: number;

  beforeAll(async () => {
    const t0 = Date.now();
    run = await startTestHosts(["h1", "h2"], { label: "smoke" });
    startMs = Date.now() - t0;
  });

  afterAll(async () => {
    await cleanupAll();
  });

  it("starts two hosts with distinct addresses in the run's own /28", () => {
    const [h1, h2] = run.hosts;
    expect(run.runId).toMatch(/^srh\d{2}[0-9a-f]{4}$/);
    const [base] = run.subnet.split("/");
    const prefix = base.split(".").slice(0, 3).join(".");
    const first = Number(base.split(".")[3]);
    for (const address of [run.mainAddress, h1.address, h2.address]) {
      expect(address.startsWith(`${prefix}.`)).toBe(true);
      const last = Number(address.split(".")[3]);
      expect(last).toBeGreaterThan(first);
      expect(last).toBeLessThan(first + 15);
    }
    expect(new Set([run.mainAddress, h1.address, h2.address]).size).toBe(3);
    reportFigure("test-hosts: start of 2 hosts, ms (up.sh phases)", run.timingsMs);
    reportFigure("test-hosts: start of 2 hosts, ms (startTestHosts)", startMs);
  });

  it("docker over ssh answers with each host's own engine, not the local one", async () => {
    const local = execFileSync("docker", ["info", "--format", "{{.ID}}"], {
      encoding: "utf8",
    }).trim();
    const ids: string[] = [];
    for (const h of run.hosts) {
      const overSsh = (
        await h.mustDocker(["info", "--format", "{{.ID}} {{.Name}}"], { via: "ssh" })
      ).trim();
      const overSocket = (await h.mustDocker(["info", "--format", "{{.ID}} {{.Name}}"])).trim();
      expect(overSsh).toBe(overSocket);
      const [id, name] = overSsh.split(" ");
      expect(name).toBe(h.name);
      expect(id).not.toBe(local);
      ids.push(id);
      // The images loaded at start (nothing can be pulled).
      const images = await h.mustDocker(["images", "--format", "{{.Repository}}:{{.Tag}}"], {
        via: "ssh",
      });
      expect(images.split("\n")).toEqual(
        expect.arrayContaining([TEST_IMAGES.registry, TEST_IMAGES.busybox]),
      );
    }
    expect(ids[0]).not.toBe(ids[1]);
    // dockerode over ssh, with the connection's private key, reaches the same engine.
    const viaDockerode = await run.hosts[0].dockerode("ssh").info();
    expect(viaDockerode.ID).toBe(ids[0]);
  });

  it("hosts reach each other, the main namespace reaches every host, and hosts reach it", async () => {
    const [h1, h2] = run.hosts;
    for (const [from, to] of [
      [h1, h2],
      [h2, h1],
    ]) {
      const out = await from.mustExec(
        ["bash", "-c", `exec 3<>/dev/tcp/${to.address}/22 && head -c 8 <&3`],
        { timeoutMs: 15_000 },
      );
      expect(out).toBe("SSH-2.0-");
    }
    for (const h of run.hosts) expect(await banner(h.address, 22)).toMatch(/^SSH-2\.0-OpenSSH/);

    // A server in this process on the main namespace's address, read from inside a host.
    const greeting = `hello-${crypto.randomBytes(4).toString("hex")}`;
    const server = net.createServer((s) => s.end(greeting));
    await new Promise<void>((resolve) => server.listen(0, run.mainAddress, resolve));
    try {
      const { port } = server.address() as net.AddressInfo;
      const got = await h1.mustExec(
        ["bash", "-c", `exec 3<>/dev/tcp/${run.mainAddress}/${port} && cat <&3`],
        {
          timeoutMs: 15_000,
        },
      );
      expect(got).toBe(greeting);
    } finally {
      server.close();
    }

    // A container on h1 (Docker's network inside the host, NATed) reaches h2.
    const fromContainer = await h1.mustDocker(
      [
        "run",
        "--rm",
        TEST_IMAGES.busybox,
        "sh",
        "-c",
        `nc -w 5 ${h2.address} 22 </dev/null | head -c 8`,
      ],
      { timeoutMs: 60_000 },
    );
    expect(fromContainer).toBe("SSH-2.0-");
  });

  it("each host has its own hostname, /etc (docker, containerd, containers...) and /root/.docker", async () => {
    const [h1, h2] = run.hosts;
    expect((await h1.mustExec(["hostname"])).trim()).toBe("h1");
    expect(JSON.parse(await h1.readFile("/etc/docker/daemon.json"))).toMatchObject({
      "cgroup-parent": h1.netns,
    });
    expect(JSON.parse(await h1.readFile("/root/.docker/config.json"))).toEqual({});
    const marker = `/etc/containerd/certs.d/${run.runId}-probe:5000/hosts.toml`;
    await h1.writeFile(marker, 'server = "https://probe:5000"\n', { mode: 0o600 });
    expect(await h1.readFile(marker)).toBe('server = "https://probe:5000"\n');
    expect((await h1.mustExec(["stat", "-c", "%a", marker])).trim()).toBe("600");
    expect(await h2.fileExists(marker)).toBe(false);
    expect(fs.existsSync(marker)).toBe(false); // not on this machine's /etc either
    // The rest of /etc is copy-on-write: files a trust step writes for other runtimes stay in
    // the host too (Podman / skopeo certs.d starts empty; buildkitd.toml is new).
    expect((await h1.mustExec(["ls", "-A", "/etc/containers/certs.d"])).trim()).toBe("");
    for (const file of [
      `/etc/containers/certs.d/${run.runId}-probe:5000/ca.crt`,
      `/etc/buildkit/${run.runId}-buildkitd.toml`,
    ]) {
      await h1.writeFile(file, "probe\n");
      expect(await h1.readFile(file)).toBe("probe\n");
      expect(await h2.fileExists(file)).toBe(false);
      expect(fs.existsSync(file)).toBe(false);
    }
    expect(
      fs.existsSync(path.join(h1.dir, "etc-containerd", marker.slice("/etc/containerd/".length))),
    ).toBe(true);
  });

  it("sshd accepts the run's key for root and nothing else (no password, no other key)", async () => {
    const h1 = run.hosts[0];
    const ssh = path.join(run.client.binDir, "ssh");
    expect((await mustRun(ssh, [`root@${h1.address}`, "whoami"])).trim()).toBe("root");

    const noKey = await runCommand(ssh, [
      "-o",
      "PubkeyAuthentication=no",
      "-o",
      "PreferredAuthentications=password,keyboard-interactive",
      `root@${h1.address}`,
      "true",
    ]);
    expect(noKey.code).not.toBe(0);
    // The server offers public key authentication only.
    expect(noKey.stderr).toContain("Permission denied (publickey)");

    const otherKeyDir = fs.mkdtempSync(path.join(os.tmpdir(), "srt-other-key-"));
    try {
      const otherKey = path.join(otherKeyDir, "id_ed25519");
      await mustRun("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", otherKey]);
      // Offer only the other key (no -F config, so the run's key is not offered).
      const onlyOther = await runCommand("ssh", [
        "-F",
        "/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        `IdentityFile=${otherKey}`,
        "-o",
        `UserKnownHostsFile=${run.client.knownHostsPath}`,
        "-o",
        "StrictHostKeyChecking=yes",
        `root@${h1.address}`,
        "true",
      ]);
      expect(onlyOther.code).not.toBe(0);
      expect(onlyOther.stderr).toContain("Permission denied (publickey)");
    } finally {
      fs.rmSync(otherKeyDir, { recursive: true, force: true });
    }
  });

  it("ctr works against the host's own containerd, in its own namespace", async () => {
    const [h1, h2] = run.hosts;
    // Import the busybox image into h1's containerd (namespace srt-test), then run it there.
    await h1.mustExec(
      [
        "sh",
        "-c",
        `docker save ${TEST_IMAGES.busybox} | ctr --address "$1" --namespace srt-test images import -`,
        "sh",
        "/run/docker/containerd/containerd.sock",
      ],
      { timeoutMs: 120_000 },
    );
    const images = (await h1.ctr(["images", "ls", "-q"])).stdout;
    expect(images).toContain(`docker.io/${TEST_IMAGES.busybox}`);
    // --cgroup under the host's cgroup parent: ctr's default (/<namespace>/<id>) would be a
    // cgroup outside anything the teardown knows.
    const ran = await h1.ctr(
      [
        "run",
        "--rm",
        "--cgroup",
        `${h1.cgroupParent}/probe`,
        `docker.io/${TEST_IMAGES.busybox}`,
        "probe",
        "echo",
        "from-ctr",
      ],
      { timeoutMs: 60_000 },
    );
    expect(ran.stderr).toBe("");
    expect(ran.stdout.trim()).toBe("from-ctr");
    // h2's containerd is another one: it does not have the image.
    expect((await h2.ctr(["images", "ls", "-q"])).stdout.trim()).toBe("");
    // dockerd's own namespace is untouched by this.
    expect((await h1.ctr(["images", "ls", "-q"], { namespace: "moby" })).stdout.trim()).toBe("");
  });

  it("a host's engine can be stopped and started again with its data", async () => {
    const h2 = run.hosts[1];
    await h2.stopEngine();
    const down = await h2.docker(["info"], { timeoutMs: 15_000 });
    expect(down.code).not.toBe(0);
    await h2.startEngine();
    const images = await h2.mustDocker(["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    expect(images.split("\n")).toEqual(
      expect.arrayContaining([TEST_IMAGES.registry, TEST_IMAGES.busybox]),
    );
  });

  it("a 2-node swarm runs a host-mode service with a secret on both nodes, then leaves", async () => {
    const t0 = Date.now();
    const swarm = await createSwarm(run, "h1", ["h2"]);
    reportFigure("test-hosts: swarm init + join of 2 nodes, ms", Date.now() - t0);
    expect(Object.keys(swarm.nodeIds).sort()).toEqual(["h1", "h2"]);
    expect(await swarmState(swarm.manager)).toBe("active");
    expect(await swarmState(swarm.workers[0])).toBe("active");

    const secretValue = crypto.randomBytes(8).toString("hex");
    await swarm.manager.mustDocker(["secret", "create", "probe_secret", "-"], {
      input: secretValue,
    });
    await swarm.manager.mustDocker([
      "service",
      "create",
      "--detach",
      "--quiet",
      "--name",
      "probe",
      "--mode",
      "global",
      "--no-resolve-image",
      "--stop-grace-period",
      "1s",
      "--endpoint-mode",
      "dnsrr",
      "--secret",
      "probe_secret",
      "--env",
      "NODE={{.Node.Hostname}}",
      "--publish",
      "mode=host,published=8080,target=80",
      TEST_IMAGES.busybox,
      "sh",
      "-c",
      "mkdir -p /www && echo $NODE > /www/node.txt && cp /run/secrets/probe_secret /www/secret.txt && exec httpd -f -p 80 -h /www",
    ]);
    await waitForServiceTasks(swarm.manager, "probe", 2);
    for (const h of swarm.nodes) {
      expect(await httpGetText(h.address, 8080, "node.txt")).toBe(h.name);
      expect(await httpGetText(h.address, 8080, "secret.txt")).toBe(secretValue);
    }

    await swarm.leave();
    for (const h of swarm.nodes) expect(await swarmState(h)).toBe("inactive");
    const local = execFileSync("docker", ["info", "--format", "{{.Swarm.LocalNodeState}}"], {
      encoding: "utf8",
    });
    expect(local.trim()).toBe("inactive");
  });

  it("reports what a host costs", () => {
    const inv = run.inventory();
    const perHost = run.hosts.map((h) => {
      const pids = ["run/docker.pid", "run/docker/containerd/containerd.pid", "run/sshd.pid"].map(
        (f) => Number(fs.readFileSync(path.join(h.dir, f), "utf8").trim()),
      );
      return Math.round(pids.reduce((sum, pid) => sum + rssMiB(pid), 0));
    });
    expect(inv.daemons.length).toBe(6);
    reportFigure(
      "test-hosts: resident memory per host (dockerd + containerd + sshd), MiB",
      perHost,
    );
  });

  it("a concurrent run gets its own slot and subnet; when its owner dies, the sweep removes it", async () => {
    // Started through the script with a short-lived owner, as a killed test process would leave it.
    const owner = execFileSync("bash", ["-c", "sleep 600 >/dev/null 2>&1 & echo $!"], {
      encoding: "utf8",
    }).trim();
    const up = await runCommand(
      "bash",
      [
        path.join(TEST_HOSTS_SCRIPTS, "up.sh"),
        "--owner",
        owner,
        "--label",
        "orphan",
        "--image",
        TEST_IMAGES.busybox,
        "o1",
      ],
      { timeoutMs: 240_000 },
    );
    const otherId = /^RUN_ID=(\S+)$/m.exec(up.stdout)?.[1] ?? "";
    try {
      expect(up.code).toBe(0);
      expect(otherId).not.toBe(run.runId);
      const other = JSON.parse(
        fs.readFileSync(/^RUN_JSON=(\S+)$/m.exec(up.stdout)?.[1] ?? "", "utf8"),
      ) as {
        subnet: string;
        runDir: string;
        hosts: { address: string; netns: string }[];
      };
      expect(other.subnet).not.toBe(run.subnet);
      // The runs' LANs are separate: the other run's host cannot reach this run's hosts.
      const cross = await runCommand(
        "ip",
        [
          "netns",
          "exec",
          other.hosts[0].netns,
          "bash",
          "-c",
          `exec 3<>/dev/tcp/${run.hosts[0].address}/22`,
        ],
        { timeoutMs: 15_000 },
      );
      expect(cross.code).not.toBe(0);
      expect(cross.stderr).toMatch(/unreachable/i);

      process.kill(Number(owner), "SIGKILL");
      const status = await mustRun("bash", [path.join(TEST_HOSTS_SCRIPTS, "status.sh")]);
      expect(status).toMatch(new RegExp(`${otherId} .*owner DEAD`));
      expect(status).toMatch(new RegExp(`${run.runId} .*owner alive`));
      await mustRun("bash", [path.join(TEST_HOSTS_SCRIPTS, "sweep.sh")], { timeoutMs: 120_000 });
      expect(fs.existsSync(other.runDir)).toBe(false);
      const netns = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
      expect(netns).not.toContain(otherId);
      // This run (owner alive) was not touched.
      expect(netns).toContain(run.hosts[0].netns);
      expect((await run.hosts[0].docker(["version"])).code).toBe(0);
    } finally {
      try {
        process.kill(Number(owner), "SIGKILL");
      } catch {
        // already dead
      }
      if (otherId)
        await runCommand("bash", [path.join(TEST_HOSTS_SCRIPTS, "down.sh"), otherId], {
          timeoutMs: 120_000,
        });
    }
  });

  it("stop() leaves nothing behind and is safe to repeat", async () => {
    const inv = run.inventory();
    const t0 = Date.now();
    await run.stop();
    reportFigure("test-hosts: stop of 2 hosts, ms", Date.now() - t0);
    expect(findLeftovers(inv)).toEqual({
      netns: [],
      links: [],
      cgroups: [],
      mounts: [],
      processes: [],
      runDirExists: false,
      slotHeld: false,
    });
    await run.stop();
    await mustRun("bash", [path.join(TEST_HOSTS_SCRIPTS, "down.sh"), run.runId]);
    const local = execFileSync("docker", ["info", "--format", "{{.Swarm.LocalNodeState}}"], {
      encoding: "utf8",
    });
    expect(local.trim()).toBe("inactive");
  });
});
