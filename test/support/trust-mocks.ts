/**
 * RecordingMocks that answer the TrustFiles dynamic resource with the real trust provider logic
 * (check + apply) on whatever directories the inputs name (tests point them at temp dirs), so
 * outputs and files are what a deployment produces.
 */
import * as pulumi from "@pulumi/pulumi";
import { RecordingMocks, unwrapSecrets } from "./mocks";

export const TRUST_FILES_TYPE = "pulumi-nodejs:dynamic/secure-registry:TrustFiles";

export class TrustMocks extends RecordingMocks {
  private readonly pending = new Set<Promise<unknown>>();

  /**
   * Waits until every TrustFiles write started so far has finished (or failed): a test's cleanup
   * must not remove its temp directory while the provider is still writing into it.
   */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  newResource(args: pulumi.runtime.MockResourceArgs): {
    id: string | undefined;
    state: Record<string, unknown>;
  } {
    const recorded = super.newResource(args);
    if (args.type !== TRUST_FILES_TYPE) return recorded;
    const applied = this.applyTrustFiles(args);
    this.pending.add(applied);
    void applied.finally(() => this.pending.delete(applied)).catch(() => undefined);
    return applied as never;
  }

  private async applyTrustFiles(
    args: pulumi.runtime.MockResourceArgs,
  ): Promise<{ id: string; state: Record<string, unknown> }> {
    // Loaded lazily: the module under test must load after setMocks.
    const { checkTrustInputs } = require("../../src/trust/inputs");
    const { applyTrust, trustId } = require("../../src/trust/apply");
    const { inputs, failures } = checkTrustInputs(unwrapSecrets(args.inputs));
    if (failures.length > 0) throw new Error(JSON.stringify(failures));
    const record = this.resources[this.resources.length - 1];
    const outs = await applyTrust(inputs);
    record.state = outs;
    return { id: trustId(outs), state: outs };
  }
}
