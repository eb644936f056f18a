/**
 * A small Dockerfile parser: enough of the reference grammar (parser directives, the escape
 * character, line continuations, comments inside continuations, heredocs, JSON vs shell form,
 * flags, multi-stage builds with stage names) for the lint rules in `lint.ts`. Pure functions.
 */

/** One instruction, with its logical text joined from continuation lines. */
export interface DockerfileInstruction {
  /** Upper-cased keyword, e.g. `RUN`. */
  readonly keyword: string;
  /** 1-based line where the instruction starts. */
  readonly line: number;
  /** Everything after the keyword and its flags, continuation lines joined with a space. */
  readonly args: string;
  /** `--name=value` flags before the arguments (COPY --from, FROM --platform, HEALTHCHECK --interval...). */
  readonly flags: readonly DockerfileFlag[];
  /** The parsed array when the arguments are in JSON (exec) form, otherwise undefined. */
  readonly json?: readonly string[];
  /** True when the arguments start with `[` but are not a valid JSON array of strings. */
  readonly malformedJson: boolean;
  /** Heredoc bodies (`RUN <<EOF`), in order. */
  readonly heredocs: readonly string[];
  /** Index of the stage this instruction belongs to (-1 before the first FROM). */
  readonly stage: number;
}

export interface DockerfileFlag {
  readonly name: string;
  /** Undefined for a bare flag such as `--link`. */
  readonly value?: string;
}

export interface DockerfileStage {
  readonly index: number;
  /** `AS name`, lower-cased as the builder compares it. */
  readonly name?: string;
  /** The `FROM` image reference as written (may name an earlier stage). */
  readonly base: string;
  readonly line: number;
}

export interface ParsedDockerfile {
  readonly instructions: readonly DockerfileInstruction[];
  readonly stages: readonly DockerfileStage[];
  /** Parser directives from the top of the file (`# syntax=...`, `# escape=...`), lower-cased keys. */
  readonly directives: Readonly<Record<string, string>>;
  readonly escape: string;
}

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9_-]*)\s*=\s*(.*?)\s*$/;
const HEREDOC = /<<(-?)\s*(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g;
const HEREDOC_KEYWORDS = new Set(["RUN", "COPY", "ADD"]);

/** Parses Dockerfile text. Never throws: unparseable pieces are kept for the rules to report. */
export function parseDockerfile(text: string): ParsedDockerfile {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  const directives: Record<string, string> = {};
  let index = 0;
  // Parser directives are only honoured at the very top, before any blank line, comment or
  // instruction; the first line that is not a directive ends them.
  for (; index < lines.length; index++) {
    const match = DIRECTIVE.exec(lines[index].trim());
    if (!match || match[1].toLowerCase() in directives) break;
    directives[match[1].toLowerCase()] = match[2];
  }
  const escape = directives.escape === "`" ? "`" : "\\";
  const continuation = new RegExp(`${escape === "`" ? "`" : "\\\\"}[ \\t]*$`);

  const instructions: DockerfileInstruction[] = [];
  const stages: DockerfileStage[] = [];
  while (index < lines.length) {
    const raw = lines[index];
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) {
      index++;
      continue;
    }
    const startLine = index + 1;
    let logical = "";
    let current = raw;
    for (;;) {
      if (continuation.test(current)) {
        logical += current.replace(continuation, "") + " ";
        index++;
        // Comment and empty lines inside a continuation are dropped, as the builder does.
        while (
          index < lines.length &&
          (lines[index].trim() === "" || lines[index].trim().startsWith("#"))
        ) {
          index++;
        }
        if (index >= lines.length) break;
        current = lines[index];
      } else {
        logical += current;
        index++;
        break;
      }
    }
    const keywordMatch = /^\s*(\S+)\s*([\s\S]*)$/.exec(logical);
    if (!keywordMatch) continue;
    const keyword = keywordMatch[1].toUpperCase();
    let rest = keywordMatch[2].trim();

    const heredocs: string[] = [];
    if (HEREDOC_KEYWORDS.has(keyword)) {
      for (const match of rest.matchAll(HEREDOC)) {
        const stripTabs = match[1] === "-";
        const terminator = match[3];
        const body: string[] = [];
        while (index < lines.length) {
          const bodyLine = stripTabs ? lines[index].replace(/^\t+/, "") : lines[index];
          index++;
          if (bodyLine === terminator) break;
          body.push(bodyLine);
        }
        heredocs.push(body.join("\n"));
      }
    }

    const flags: DockerfileFlag[] = [];
    for (;;) {
      const flag = /^--([A-Za-z][A-Za-z0-9-]*)(?:=("[^"]*"|\S*))?(?:\s+|$)/.exec(rest);
      if (!flag) break;
      flags.push({ name: flag[1].toLowerCase(), value: flag[2]?.replace(/^"(.*)"$/, "$1") });
      rest = rest.slice(flag[0].length);
    }

    let json: string[] | undefined;
    let malformedJson = false;
    if (rest.startsWith("[")) {
      try {
        const parsed: unknown = JSON.parse(rest);
        if (Array.isArray(parsed) && parsed.every((item) => typeof item === "string")) {
          json = parsed as string[];
        } else {
          malformedJson = true;
        }
      } catch {
        malformedJson = true;
      }
    }

    if (keyword === "FROM") {
      const words = rest.split(/\s+/).filter((word) => word !== "");
      const asIndex = words.findIndex((word) => word.toUpperCase() === "AS");
      stages.push({
        index: stages.length,
        base: words[0] ?? "",
        name: asIndex >= 0 && words[asIndex + 1] ? words[asIndex + 1].toLowerCase() : undefined,
        line: startLine,
      });
    }
    instructions.push({
      keyword,
      line: startLine,
      args: rest,
      flags,
      json,
      malformedJson,
      heredocs,
      stage: stages.length - 1,
    });
  }
  return { instructions, stages, directives, escape };
}

/** Splits a shell command line into simple commands on `&&`, `||`, `;`, `|` and newlines (quote-aware). */
export function splitShellCommands(script: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let word = "";
  let quote: string | undefined;
  let hasWord = false;
  const endWord = () => {
    if (hasWord) words.push(word);
    word = "";
    hasWord = false;
  };
  const endCommand = () => {
    endWord();
    if (words.length > 0) commands.push(words);
    words = [];
  };
  for (let i = 0; i < script.length; i++) {
    const char = script[i];
    if (quote) {
      if (char === quote) quote = undefined;
      else if (char === "\\" && quote === '"' && i + 1 < script.length) word += script[++i];
      else word += char;
      continue;
    }
    if (char === "'" || char === '"') {
      quote = char;
      hasWord = true;
    } else if (char === "\\" && i + 1 < script.length) {
      word += script[++i];
      hasWord = true;
    } else if (char === "&" || char === "|" || char === ";" || char === "\n") {
      endCommand();
      if ((char === "&" || char === "|") && script[i + 1] === char) i++;
    } else if (char === "(" || char === ")") {
      endCommand();
    } else if (/\s/.test(char)) {
      endWord();
    } else {
      word += char;
      hasWord = true;
    }
  }
  endCommand();
  return commands;
}

/**
 * The simple commands an instruction runs: the JSON array itself (or the `-c` script when it runs
 * a shell), or the shell-form text and heredoc bodies split into commands.
 */
export function commandsOf(
  instruction: DockerfileInstruction,
  text = instruction.args,
): string[][] {
  if (instruction.json && text === instruction.args) {
    const [program, ...rest] = instruction.json;
    if (program && /(^|\/)(ba)?sh$/.test(program) && rest[0] === "-c" && rest[1] !== undefined) {
      return splitShellCommands(rest[1]);
    }
    return instruction.json.length > 0 ? [[...instruction.json]] : [];
  }
  const commands = splitShellCommands(text.replace(HEREDOC, " "));
  for (const body of instruction.heredocs) commands.push(...splitShellCommands(body));
  return commands;
}

/** The program a simple command runs, ignoring `VAR=value` prefixes, `exec`, `sudo` and `env`. */
export function programOf(words: readonly string[]): string | undefined {
  for (const word of words) {
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(word)) continue;
    if (word === "exec" || word === "sudo" || word === "env" || word === "command") continue;
    return word.split("/").pop();
  }
  return undefined;
}
