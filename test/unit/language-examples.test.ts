/**
 * The Python and YAML examples, checked as far as this machine allows (running them needs the
 * Pulumi CLI): the Python program parses (python3's own parser) and every SDK name it uses, turned
 * back into schema names, is an input, output, type or enum value of the committed schema.json;
 * the YAML program's resources and properties validate against the schema (types, enum values,
 * required inputs, and the outputs its expressions read).
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

const root = path.join(__dirname, "../..");
const schema = JSON.parse(fs.readFileSync(path.join(root, "schema.json"), "utf8"));
const token = (name: string) => `${schema.name}:index:${name}`;
const camel = (snake: string) => snake.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
/** How Pulumi's Python generator names an enum member: `Tls13` -> `TLS13`, `Ecdsa` -> `ECDSA`. */
const pythonEnumMember = (name: string) =>
  name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();

/** python3 reads the program and lists what it uses of the SDK (module alias `secure_registry`). */
const PYTHON_INSPECTOR = String.raw`
import ast, json, sys
tree = ast.parse(open(sys.argv[1]).read(), sys.argv[1])
sdk = "secure_registry"
def sdk_attr(node):
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == sdk
calls, enums, outputs, components = [], [], [], {}
for node in ast.walk(tree):
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and sdk_attr(node.value.func):
        for target in node.targets:
            if isinstance(target, ast.Name):
                components[target.id] = node.value.func.attr
for node in ast.walk(tree):
    if isinstance(node, ast.Call) and sdk_attr(node.func):
        calls.append({"callee": node.func.attr, "kwargs": [k.arg for k in node.keywords],
                      "positional": len(node.args)})
    elif isinstance(node, ast.Attribute) and sdk_attr(node.value):
        enums.append({"enum": node.value.attr, "member": node.attr})
    elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in components:
        outputs.append({"component": components[node.value.id], "output": node.attr})
print(json.dumps({"calls": calls, "enums": enums, "outputs": outputs}))
`;

describe("examples/python-registry", () => {
  const dir = path.join(root, "examples/python-registry");

  it("has what a Pulumi Python project needs, and names this package", () => {
    for (const file of ["Pulumi.yaml", "__main__.py", "requirements.txt", "README.md"]) {
      expect(fs.existsSync(path.join(dir, file))).toBe(true);
    }
    const project = YAML.parse(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8"));
    expect(project.runtime.name).toBe("python");
    expect(project.packages).toEqual({ [schema.name]: "../.." });
    expect(fs.readFileSync(path.join(dir, "requirements.txt"), "utf8")).toMatch(/^pulumi>=3\./m);
  });

  it("parses, and uses only names the schema has", () => {
    const used = JSON.parse(
      execFileSync("python3", ["-c", PYTHON_INSPECTOR, path.join(dir, "__main__.py")]).toString(),
    );
    expect(used.calls.length).toBeGreaterThan(0);
    const problems: string[] = [];
    for (const { callee, kwargs, positional } of used.calls) {
      const resource = schema.resources[token(callee)];
      const type = callee.endsWith("Args") ? schema.types[token(callee.slice(0, -4))] : undefined;
      const properties = resource?.inputProperties ?? type?.properties;
      if (properties === undefined) {
        problems.push(`${callee} is neither a component nor an input type`);
        continue;
      }
      const given = kwargs.map(camel);
      for (const name of given) {
        if (!(name in properties)) problems.push(`${callee}(${name}) is not in the schema`);
      }
      // A component takes its name positionally; its required inputs and a type's required
      // properties must be given.
      if (resource !== undefined && positional !== 1) problems.push(`${callee}: name not given`);
      for (const required of resource?.requiredInputs ?? type?.required ?? []) {
        if (!given.includes(required)) problems.push(`${callee} lacks required ${required}`);
      }
    }
    for (const { enum: name, member } of used.enums) {
      const values = schema.types[token(name)]?.enum;
      if (values === undefined) continue; // a component or type name, checked above
      if (!values.some((v: any) => pythonEnumMember(v.name) === member)) {
        problems.push(`${name}.${member} is not a member of the enum`);
      }
    }
    for (const { component, output } of used.outputs) {
      if (!(camel(output) in schema.resources[token(component)].properties)) {
        problems.push(`${component}.${output} is not an output`);
      }
    }
    expect(problems).toEqual([]);
    // It declares the registry with trust, as the README says.
    expect(used.calls.find((c: any) => c.callee === "SecureRegistry").kwargs).toContain("trust");
  });
});

describe("examples/yaml-registry", () => {
  const dir = path.join(root, "examples/yaml-registry");
  const project = YAML.parse(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8"));
  const interpolation = /^\$\{([^}]+)\}$/;

  /** Problems of `value` against the schema `property` at `where`. */
  function check(value: unknown, property: any, where: string): string[] {
    if (typeof value === "string" && interpolation.test(value)) return [];
    const ref: string | undefined = property.$ref;
    if (ref?.startsWith("#/types/")) {
      const type = schema.types[ref.slice("#/types/".length)];
      if (type.enum) {
        const ok = type.enum.some((e: any) => e.value === value);
        return ok ? [] : [`${where}: ${JSON.stringify(value)} is not one of the enum's values`];
      }
      return checkObject(value, type.properties ?? {}, type.required ?? [], where);
    }
    if (property.type === "array") {
      if (!Array.isArray(value)) return [`${where}: not a list`];
      return value.flatMap((item, i) => check(item, property.items, `${where}[${i}]`));
    }
    if (property.type === "object") {
      if (typeof value !== "object" || value === null) return [`${where}: not an object`];
      return Object.entries(value).flatMap(([k, v]) =>
        check(v, property.additionalProperties, `${where}.${k}`),
      );
    }
    const actual = typeof value === "number" ? "number" : typeof value;
    return actual === (property.type === "integer" ? "number" : property.type)
      ? []
      : [`${where}: ${actual}, the schema says ${property.type}`];
  }

  function checkObject(value: unknown, properties: any, required: string[], where: string) {
    if (typeof value !== "object" || value === null) return [`${where}: not an object`];
    const problems: string[] = [];
    for (const [k, v] of Object.entries(value)) {
      if (!(k in properties)) problems.push(`${where}.${k} is not in the schema`);
      else problems.push(...check(v, properties[k], `${where}.${k}`));
    }
    for (const r of required) if (!(r in value)) problems.push(`${where} lacks required ${r}`);
    return problems;
  }

  it("declares components the schema has, with valid properties", () => {
    expect(project.runtime).toBe("yaml");
    expect(project.packages).toEqual({ [schema.name]: "../.." });
    expect(fs.existsSync(path.join(dir, "README.md"))).toBe(true);
    const problems: string[] = [];
    const declared: Record<string, string> = {};
    for (const [name, resource] of Object.entries<any>(project.resources)) {
      const component = schema.resources[resource.type];
      if (component === undefined) {
        problems.push(`${name}: ${resource.type} is not in the schema`);
        continue;
      }
      declared[name] = resource.type;
      problems.push(
        ...checkObject(
          resource.properties ?? {},
          component.inputProperties,
          component.requiredInputs,
          name,
        ),
      );
    }
    expect(problems).toEqual([]);
    expect(Object.values(declared)).toEqual([
      token("SecureRegistry"),
      token("RegistryClientTrust"),
    ]);
  });

  it("reads only outputs the components have, and config it declares", () => {
    const problems: string[] = [];
    const visit = (value: unknown) => {
      if (typeof value === "string") {
        for (const [, expression] of value.matchAll(/\$\{([^}]+)\}/g)) {
          const [head, ...rest] = expression.split(".");
          if (rest.length === 0) {
            if (!(head in (project.config ?? {})))
              problems.push(`\${${expression}}: no such config`);
            continue;
          }
          const type = project.resources[head]?.type;
          const outputs = schema.resources[type]?.properties ?? {};
          if (!(rest[0] in outputs)) problems.push(`\${${expression}}: not an output of ${head}`);
        }
      } else if (typeof value === "object" && value !== null) {
        Object.values(value).forEach(visit);
      }
    };
    visit(project.resources);
    visit(project.outputs);
    expect(problems).toEqual([]);
    expect(Object.keys(project.outputs)).toContain("endpoint");
  });
});
