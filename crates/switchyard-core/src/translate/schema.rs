//! JSON Schema ↔ Gemini's OpenAPI-style `Schema` subset (protocols.md §3.3, §4.10), and
//! Gemini function names.
//!
//! - [`clean_for_gemini`] turns one JSON Schema (a tool's parameters or a response schema)
//!   into what Gemini's `parameters` / `responseSchema` accept, following §4.10 in order:
//!   1. normalise malformed MCP schemas (a bare property map is wrapped as an object;
//!      `required: true` on a property is promoted to the parent's `required`; an array
//!      without `items` gets `{"type":"string"}` items, which Gemini insists on);
//!   2. inline local `$ref`s (`#/$defs/…`, `#/definitions/…`, any `#/…` pointer) with a
//!      cycle guard: a recursive reference stops as `{type, description:"See: Name"}`; an
//!      unresolvable one becomes a description hint;
//!   3. `const` → `enum`; enum values become strings with `"type":"string"` (a `null`
//!      member becomes `nullable`; an all-boolean enum is dropped to a hint and the type
//!      stays `boolean`, so boolean arguments keep their JSON type);
//!   4. `minLength`, `maxLength`, `exclusiveMinimum`, `exclusiveMaximum`, `pattern`,
//!      `minItems`, `maxItems`, `uniqueItems`, `format`, `default`, `examples`,
//!      `additionalProperties` move into `description` as hints;
//!   5. `allOf` is merged into properties/required; `anyOf`/`oneOf` collapse to the
//!      richest branch (object > array > scalar), a `null` branch becomes `nullable`;
//!      `type: [T, "null"]` becomes `T` + `nullable`;
//!   6. every keyword outside Gemini's `Schema` (§3.3) is deleted — `$schema`, `$id`,
//!      `$defs`, `definitions`, `$ref`, `const`, `propertyNames`, `patternProperties`,
//!      `if`/`then`/`else`, `$comment`, `deprecated`, `x-*` and any other unknown key.
//!      The walk is structural (it knows which keys hold sub-schemas), so a *property*
//!      named like a keyword (`properties.format`, `properties.$ref`) is never touched;
//!   7. `required` entries naming missing properties are dropped.
//! - [`gemini_to_json_schema`] goes the other way for schemas a Gemini client sends
//!   (`"type":"OBJECT"`, `nullable`), so other providers get standard JSON Schema.
//! - [`is_valid_function_name`] / [`sanitize_function_name`]: Gemini function names must
//!   start with a letter or `_`, then `[a-zA-Z0-9_.:-]`, at most 64 characters.

use serde_json::{Map, Value, json};

/// Keys of Gemini's `Schema` (§3.3). Everything else is deleted (step 6).
const ALLOWED: [&str; 22] = [
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "properties",
    "required",
    "items",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "minProperties",
    "maxProperties",
    "anyOf",
    "propertyOrdering",
    "default",
    "example",
];

/// Constraints moved into the description (step 4).
const HINTED: [&str; 12] = [
    "minLength",
    "maxLength",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "format",
    "default",
    "examples",
    "additionalProperties",
];

/// Keys that hold one sub-schema.
const SCHEMA_KEYS: [&str; 9] = [
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "additionalItems",
];
/// Keys that hold a list of sub-schemas.
const SCHEMA_LIST_KEYS: [&str; 4] = ["anyOf", "oneOf", "allOf", "prefixItems"];
/// Keys that hold a name → sub-schema map.
const SCHEMA_MAP_KEYS: [&str; 5] = [
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];
/// JSON Schema keywords (and data-holding keys): a node with any of these is not a bare
/// property map.
const KEYWORDS: [&str; 45] = [
    "type",
    "properties",
    "items",
    "required",
    "description",
    "title",
    "enum",
    "const",
    "format",
    "default",
    "examples",
    "example",
    "nullable",
    "anyOf",
    "oneOf",
    "allOf",
    "not",
    "if",
    "then",
    "else",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "additionalProperties",
    "patternProperties",
    "propertyNames",
    "definitions",
    "contains",
    "prefixItems",
    "dependentSchemas",
    "dependentRequired",
    "discriminator",
    "multipleOf",
    "deprecated",
    "readOnly",
    "writeOnly",
];

/// Nested `$ref` expansions deeper than this stop as a hint.
const MAX_REF_DEPTH: usize = 16;
/// Total `$ref` expansions per schema (guards against exponential DAGs).
const MAX_REF_EXPANSIONS: usize = 512;
/// Schemas nested deeper than this are cut to `{}`.
const MAX_DEPTH: usize = 96;
/// `allOf`/`anyOf` merge rounds per node (a merged branch may bring its own).
const MAX_MERGE_ROUNDS: usize = 8;

/// Longest function name Gemini accepts.
pub const MAX_FUNCTION_NAME_LEN: usize = 64;

/// Clean one JSON Schema for Gemini's `parameters` / `responseSchema` (§4.10 steps 1–7).
pub fn clean_for_gemini(schema: &Value) -> Value {
    let mut normalised = schema.clone();
    normalise(&mut normalised, 0);
    let mut inliner = Inliner {
        root: &normalised,
        expansions: 0,
    };
    let inlined = inliner.inline(&normalised, &mut Vec::new(), 0);
    clean(&inlined, 0)
}

/// A Gemini `Schema` (as a Gemini client sends it) → standard JSON Schema: type names in
/// lower case, `nullable: true` → `type: [T, "null"]`. Other keys are kept.
pub fn gemini_to_json_schema(schema: &Value) -> Value {
    to_json_schema(schema, 0)
}

/// Whether Gemini accepts `name` as a function name.
pub fn is_valid_function_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.len() <= MAX_FUNCTION_NAME_LEN
        && chars.all(allowed_in_name)
}

/// A name Gemini accepts, deterministically: valid names are unchanged; others have bad
/// characters replaced by `_`, a `_` prefix when they do not start with a letter or `_`,
/// and a short stable hash suffix so distinct inputs stay distinct, within 64 characters.
pub fn sanitize_function_name(name: &str) -> String {
    if is_valid_function_name(name) {
        return name.to_owned();
    }
    let mut clean: String = name
        .chars()
        .map(|c| if allowed_in_name(c) { c } else { '_' })
        .collect();
    if !clean.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        clean.insert(0, '_');
    }
    let hash = format!("{:08x}", fnv1a(name.as_bytes()) as u32);
    let keep = MAX_FUNCTION_NAME_LEN - hash.len() - 1;
    let head: String = clean.chars().take(keep).collect();
    format!("{head}_{hash}")
}

fn allowed_in_name(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-')
}

/// FNV-1a 64-bit: stable across builds and platforms.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

// ---------------------------------------------------------------------------------------
// Step 1: malformed MCP schemas.

fn normalise(node: &mut Value, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    let Value::Object(m) = node else { return };
    if is_bare_property_map(m) {
        let props = std::mem::take(m);
        m.insert("type".to_owned(), json!("object"));
        m.insert("properties".to_owned(), Value::Object(props));
    }
    // A boolean `required` on this node was handled by its parent (or is meaningless at
    // the root).
    if m.get("required").is_some_and(Value::is_boolean) {
        m.remove("required");
    }
    let mut promoted = Vec::new();
    if let Some(Value::Object(props)) = m.get_mut("properties") {
        for (name, prop) in props.iter_mut() {
            if let Value::Object(p) = prop
                && let Some(Value::Bool(required)) = p.get("required").cloned()
            {
                p.remove("required");
                if required {
                    promoted.push(name.clone());
                }
            }
        }
    }
    if !promoted.is_empty() {
        let mut required: Vec<Value> = match m.remove("required") {
            Some(Value::Array(list)) => list,
            _ => Vec::new(),
        };
        for name in promoted {
            let name = Value::String(name);
            if !required.contains(&name) {
                required.push(name);
            }
        }
        m.insert("required".to_owned(), Value::Array(required));
    }
    for_each_subschema(m, &mut |child| normalise(child, depth + 1));
}

fn is_bare_property_map(m: &Map<String, Value>) -> bool {
    !m.is_empty()
        && m.iter().all(|(k, v)| {
            v.is_object()
                && !k.starts_with('$')
                && !k.starts_with("x-")
                && !KEYWORDS.contains(&k.as_str())
        })
}

/// Visit every direct sub-schema of a schema object (never data such as `enum` values).
fn for_each_subschema(m: &mut Map<String, Value>, f: &mut impl FnMut(&mut Value)) {
    for (key, value) in m.iter_mut() {
        let key = key.as_str();
        if SCHEMA_KEYS.contains(&key) {
            match value {
                Value::Array(list) if key == "items" => list.iter_mut().for_each(&mut *f),
                _ => f(value),
            }
        } else if SCHEMA_LIST_KEYS.contains(&key) {
            if let Value::Array(list) = value {
                list.iter_mut().for_each(&mut *f);
            }
        } else if SCHEMA_MAP_KEYS.contains(&key)
            && let Value::Object(map) = value
        {
            map.values_mut().for_each(&mut *f);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Step 2: local `$ref` inlining.

struct Inliner<'a> {
    root: &'a Value,
    expansions: usize,
}

impl Inliner<'_> {
    fn inline(&mut self, node: &Value, stack: &mut Vec<String>, depth: usize) -> Value {
        let Value::Object(m) = node else {
            return node.clone();
        };
        if depth > MAX_DEPTH {
            return json!({});
        }
        if let Some(Value::String(reference)) = m.get("$ref") {
            return self.expand(m, reference, stack, depth);
        }
        let mut out = Map::new();
        for (key, value) in m {
            let k = key.as_str();
            let inlined = if k == "$defs" || k == "definitions" {
                // Deleted in step 6; definitions are read from the root when referenced.
                continue;
            } else if SCHEMA_KEYS.contains(&k) || SCHEMA_LIST_KEYS.contains(&k) {
                match value {
                    Value::Array(list) => Value::Array(
                        list.iter()
                            .map(|v| self.inline(v, stack, depth + 1))
                            .collect(),
                    ),
                    other => self.inline(other, stack, depth + 1),
                }
            } else if SCHEMA_MAP_KEYS.contains(&k)
                && let Value::Object(map) = value
            {
                Value::Object(
                    map.iter()
                        .map(|(n, v)| (n.clone(), self.inline(v, stack, depth + 1)))
                        .collect(),
                )
            } else {
                value.clone()
            };
            out.insert(key.clone(), inlined);
        }
        Value::Object(out)
    }

    fn expand(
        &mut self,
        site: &Map<String, Value>,
        reference: &str,
        stack: &mut Vec<String>,
        depth: usize,
    ) -> Value {
        let mut siblings = Map::new();
        for (key, value) in site {
            if key != "$ref" {
                siblings.insert(key.clone(), value.clone());
            }
        }
        let siblings = match self.inline(&Value::Object(siblings), stack, depth + 1) {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        let name = ref_name(reference);
        let target = reference
            .strip_prefix('#')
            .and_then(|pointer| self.root.pointer(pointer));
        let Some(target) = target else {
            // Unresolvable (external or dangling): keep the site, say what it pointed to.
            let mut out = siblings;
            out.entry("type").or_insert_with(|| json!("object"));
            append_hints(&mut out, &[format!("See: {name}")]);
            return Value::Object(out);
        };
        let cyclic = stack.iter().any(|r| r == reference);
        if cyclic || stack.len() >= MAX_REF_DEPTH || self.expansions >= MAX_REF_EXPANSIONS {
            let mut out = Map::new();
            if let Value::Object(t) = target {
                for key in ["type", "nullable", "description"] {
                    if let Some(v) = t.get(key) {
                        out.insert(key.to_owned(), v.clone());
                    }
                }
            }
            out.extend(siblings);
            append_hints(&mut out, &[format!("See: {name}")]);
            return Value::Object(out);
        }
        self.expansions += 1;
        stack.push(reference.to_owned());
        let resolved = self.inline(target, stack, depth + 1);
        stack.pop();
        let mut out = match resolved {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        // Keywords written next to the `$ref` win over the definition's.
        out.extend(siblings);
        Value::Object(out)
    }
}

fn ref_name(reference: &str) -> String {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    let last = if last.is_empty() || last == "#" {
        "root"
    } else {
        last
    };
    last.replace("~1", "/").replace("~0", "~")
}

// ---------------------------------------------------------------------------------------
// Steps 3–7, bottom-up per node.

fn clean(node: &Value, depth: usize) -> Value {
    let Value::Object(src) = node else {
        // A boolean schema (`true` = anything) or junk: an unconstrained schema.
        return json!({});
    };
    if depth > MAX_DEPTH {
        return json!({});
    }
    let mut m = src.clone();
    let mut hints = Vec::new();

    // Step 5: allOf / anyOf / oneOf (a merged branch may bring its own, hence the rounds).
    for _ in 0..MAX_MERGE_ROUNDS {
        let mut changed = false;
        if let Some(all) = m.remove("allOf") {
            changed = true;
            if let Value::Array(branches) = all {
                for branch in branches {
                    if let Value::Object(b) = branch {
                        merge_branch(&mut m, b);
                    }
                }
            }
        }
        let mut branches = Vec::new();
        for key in ["anyOf", "oneOf"] {
            if let Some(list) = m.remove(key) {
                changed = true;
                if let Value::Array(list) = list {
                    branches.extend(list);
                }
            }
        }
        if !branches.is_empty() {
            flatten_union(&mut m, branches, &mut hints);
        }
        if !changed {
            break;
        }
    }
    collapse_type_array(&mut m, &mut hints);

    // Step 3: const → enum; enum values → strings.
    if let Some(constant) = m.remove("const")
        && !m.contains_key("enum")
    {
        m.insert("enum".to_owned(), Value::Array(vec![constant]));
    }
    stringify_enum(&mut m, &mut hints);

    // Step 4: constraints → description hints.
    for key in HINTED {
        if let Some(value) = m.remove(key) {
            hints.push(format!("{key}: {}", render(&value)));
        }
    }

    // Recurse into the sub-schemas Gemini keeps.
    if let Some(Value::Object(props)) = m.remove("properties") {
        let cleaned = props
            .iter()
            .map(|(name, s)| (name.clone(), clean(s, depth + 1)))
            .collect();
        m.insert("properties".to_owned(), Value::Object(cleaned));
    }
    match m.remove("items") {
        Some(Value::Array(tuple)) => {
            let first = tuple
                .first()
                .map_or_else(|| json!({}), |s| clean(s, depth + 1));
            m.insert("items".to_owned(), first);
        }
        Some(items) => {
            m.insert("items".to_owned(), clean(&items, depth + 1));
        }
        None => {}
    }
    if m.get("type").and_then(Value::as_str) == Some("array") && !m.contains_key("items") {
        m.insert("items".to_owned(), json!({"type": "string"}));
    }
    if !m.contains_key("type") && m.contains_key("properties") {
        m.insert("type".to_owned(), json!("object"));
    }

    append_hints(&mut m, &hints);

    // Step 6: only Gemini's keys remain.
    m.retain(|key, _| ALLOWED.contains(&key.as_str()));

    // Step 7: `required` names existing properties only.
    let required: Vec<Value> = match (m.remove("required"), m.get("properties")) {
        (Some(Value::Array(list)), Some(Value::Object(props))) => {
            let mut kept: Vec<Value> = Vec::new();
            for name in list {
                if name.as_str().is_some_and(|n| props.contains_key(n)) && !kept.contains(&name) {
                    kept.push(name);
                }
            }
            kept
        }
        _ => Vec::new(),
    };
    if !required.is_empty() {
        m.insert("required".to_owned(), Value::Array(required));
    }
    Value::Object(m)
}

/// Merge an `allOf` member or the chosen `anyOf` branch into `m`: properties and required
/// are united (a property defined twice becomes an `allOf` of both, cleaned later); other
/// keys fill in where `m` has none.
fn merge_branch(m: &mut Map<String, Value>, branch: Map<String, Value>) {
    for (key, value) in branch {
        match (key.as_str(), m.get_mut(&key)) {
            ("properties", Some(Value::Object(existing))) => {
                if let Value::Object(props) = value {
                    for (name, schema) in props {
                        let merged = match existing.remove(&name) {
                            Some(prev) => json!({"allOf": [prev, schema]}),
                            None => schema,
                        };
                        existing.insert(name, merged);
                    }
                }
            }
            ("required", Some(Value::Array(existing))) => {
                if let Value::Array(list) = value {
                    for name in list {
                        if !existing.contains(&name) {
                            existing.push(name);
                        }
                    }
                }
            }
            (_, Some(_)) => {}
            (_, None) => {
                m.insert(key, value);
            }
        }
    }
}

fn is_null_schema(v: &Value) -> bool {
    match v.get("type") {
        Some(Value::String(t)) => t == "null",
        Some(Value::Array(ts)) => !ts.is_empty() && ts.iter().all(|t| t == "null"),
        _ => false,
    }
}

fn first_type(v: &Value) -> Option<&str> {
    match v.get("type") {
        Some(Value::String(t)) => Some(t),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null"),
        _ => None,
    }
}

/// How much structure a branch carries: object > array > scalar; more properties win.
fn richness(v: &Value) -> (u8, usize) {
    let props = v
        .get("properties")
        .and_then(Value::as_object)
        .map_or(0, Map::len);
    let rank = match first_type(v) {
        Some("object") => 3,
        Some("array") => 2,
        _ if props > 0 => 3,
        _ if v.get("items").is_some() => 2,
        _ => 1,
    };
    (rank, props)
}

fn flatten_union(m: &mut Map<String, Value>, branches: Vec<Value>, hints: &mut Vec<String>) {
    let (nulls, options): (Vec<Value>, Vec<Value>) = branches.into_iter().partition(is_null_schema);
    if !nulls.is_empty() {
        m.insert("nullable".to_owned(), Value::Bool(true));
    }
    let mut kinds: Vec<&str> = Vec::new();
    for t in options.iter().filter_map(first_type) {
        if !kinds.contains(&t) {
            kinds.push(t);
        }
    }
    if kinds.len() > 1 {
        hints.push(format!("Accepts: {}", kinds.join(" | ")));
    }
    let mut best: Option<(usize, (u8, usize))> = None;
    for (i, option) in options.iter().enumerate() {
        let score = richness(option);
        if best.is_none_or(|(_, s)| score > s) {
            best = Some((i, score));
        }
    }
    let chosen = best.and_then(|(i, _)| options.into_iter().nth(i));
    match chosen {
        Some(Value::Object(branch)) => merge_branch(m, branch),
        Some(_) => {}
        None if nulls.is_empty() => {}
        None => {
            m.entry("type").or_insert_with(|| json!("null"));
        }
    }
}

fn collapse_type_array(m: &mut Map<String, Value>, hints: &mut Vec<String>) {
    let Some(Value::Array(types)) = m.get("type") else {
        return;
    };
    let names: Vec<String> = types
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    let non_null: Vec<&String> = names.iter().filter(|t| *t != "null").collect();
    if non_null.len() < names.len() {
        m.insert("nullable".to_owned(), Value::Bool(true));
    }
    let chosen = match non_null.as_slice() {
        [] => "null".to_owned(),
        [only] => (*only).clone(),
        [first, ..] => {
            let all: Vec<&str> = non_null.iter().map(|s| s.as_str()).collect();
            hints.push(format!("Accepts: {}", all.join(" | ")));
            (*first).clone()
        }
    };
    m.insert("type".to_owned(), Value::String(chosen));
}

fn stringify_enum(m: &mut Map<String, Value>, hints: &mut Vec<String>) {
    let Some(values) = m.remove("enum") else {
        return;
    };
    let Value::Array(values) = values else { return };
    let (nulls, values): (Vec<Value>, Vec<Value>) = values.into_iter().partition(Value::is_null);
    if !nulls.is_empty() {
        m.insert("nullable".to_owned(), Value::Bool(true));
    }
    if values.is_empty() {
        return;
    }
    if values.iter().all(Value::is_boolean) {
        // `enum: ["true"]` would turn a boolean argument into a string.
        m.entry("type").or_insert_with(|| json!("boolean"));
        let allowed: Vec<String> = values.iter().map(render).collect();
        hints.push(format!("Allowed: {}", allowed.join(", ")));
        return;
    }
    let strings = values.iter().map(|v| Value::String(render(v))).collect();
    m.insert("enum".to_owned(), Value::Array(strings));
    m.insert("type".to_owned(), json!("string"));
}

/// A value as hint text: strings bare, anything else as compact JSON.
fn render(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn append_hints(m: &mut Map<String, Value>, hints: &[String]) {
    if hints.is_empty() {
        return;
    }
    let joined = hints.join("; ");
    let description = match m.get("description").and_then(Value::as_str) {
        Some(d) if !d.is_empty() => format!("{d} ({joined})"),
        _ => joined,
    };
    m.insert("description".to_owned(), Value::String(description));
}

// ---------------------------------------------------------------------------------------
// Gemini Schema → JSON Schema.

fn to_json_schema(node: &Value, depth: usize) -> Value {
    let Value::Object(src) = node else {
        return node.clone();
    };
    if depth > MAX_DEPTH {
        return json!({});
    }
    let mut m = src.clone();
    if let Some(Value::String(t)) = m.get("type") {
        let lower = t.to_ascii_lowercase();
        m.insert("type".to_owned(), Value::String(lower));
    }
    if let Some(nullable) = m.remove("nullable")
        && nullable == Value::Bool(true)
        && let Some(Value::String(t)) = m.get("type").cloned()
        && t != "null"
    {
        m.insert("type".to_owned(), json!([t, "null"]));
    }
    if let Some(Value::Object(props)) = m.get_mut("properties") {
        for schema in props.values_mut() {
            *schema = to_json_schema(schema, depth + 1);
        }
    }
    if let Some(items) = m.get_mut("items") {
        *items = to_json_schema(items, depth + 1);
    }
    if let Some(Value::Array(list)) = m.get_mut("anyOf") {
        for schema in list.iter_mut() {
            *schema = to_json_schema(schema, depth + 1);
        }
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[expect(clippy::needless_pass_by_value, reason = "tests pass json! literals")]
    fn cleaned(schema: Value) -> Value {
        clean_for_gemini(&schema)
    }

    #[test]
    fn rejected_keywords_are_deleted() {
        let out = cleaned(json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "$id": "urn:x",
            "$comment": "c",
            "type": "object",
            "additionalProperties": false,
            "propertyNames": {"pattern": "^[a-z]+$"},
            "patternProperties": {"^x": {"type": "string"}},
            "if": {"properties": {"a": {"const": 1}}},
            "then": {"required": ["a"]},
            "else": {"required": []},
            "deprecated": true,
            "x-vendor": {"a": 1},
            "not": {"type": "null"},
            "properties": {"a": {"type": "integer", "multipleOf": 2}}
        }));
        insta::assert_json_snapshot!(out);
    }

    #[test]
    fn const_becomes_string_enum_and_enum_values_are_stringified() {
        let out = cleaned(json!({
            "type": "object",
            "properties": {
                "kind": {"const": "circle"},
                "level": {"type": "integer", "enum": [1, 2, 3]},
                "mode": {"enum": ["a", null]},
                "flag": {"type": "boolean", "const": true}
            }
        }));
        insta::assert_json_snapshot!(out);
    }

    #[test]
    fn constraints_move_into_the_description() {
        let out = cleaned(json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "description": "Who", "minLength": 1, "maxLength": 20,
                         "pattern": "^[A-Z]", "format": "hostname", "default": "Ann", "examples": ["Bob"]},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3, "uniqueItems": true},
                "n": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 10, "minimum": 0},
                "meta": {"type": "object", "additionalProperties": {"type": "string"}}
            }
        }));
        insta::assert_json_snapshot!(out);
    }

    #[test]
    fn all_of_is_merged() {
        let out = cleaned(json!({
            "allOf": [
                {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                {"properties": {"b": {"type": "integer"}, "a": {"description": "the a"}}, "required": ["b"]}
            ]
        }));
        insta::assert_json_snapshot!(out);
    }

    #[test]
    fn any_of_and_one_of_flatten_to_the_richest_branch_with_null_as_nullable() {
        let out = cleaned(json!({
            "type": "object",
            "properties": {
                "when": {"anyOf": [{"type": "string"}, {"type": "null"}], "description": "Date"},
                "target": {"oneOf": [
                    {"type": "string"},
                    {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}
                ]},
                "list": {"anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}]}
            }
        }));
        insta::assert_json_snapshot!(out);
    }

    #[test]
    fn type_arrays_collapse_to_nullable() {
        let out = cleaned(json!({
            "type": "object",
            "properties": {
                "a": {"type": ["string", "null"]},
                "b": {"type": ["integer", "string"]},
                "c": {"type": ["array", "null"]}
            }
        }));
        insta::assert_json_snapshot!(out);
    }

    #[test]
    fn local_refs_are_inlined_and_siblings_win() {
        let out = cleaned(json!({
            "type": "object",
            "$defs": {"City": {"type": "string", "description": "A city"}},
            "definitions": {"Unit": {"enum": ["c", "f"]}},
            "properties": {
                "city": {"$ref": "#/$defs/City", "description": "Where"},
                "unit": {"$ref": "#/definitions/Unit"},
                "other": {"$ref": "https://example.com/schema.json"}
            },
            "required": ["city", "missing"]
        }));
        insta::assert_json_snapshot!(out);
    }

    #[test]
    fn recursive_refs_stop_with_a_hint() {
        let out = cleaned(json!({
            "$ref": "#/$defs/Node",
            "$defs": {
                "Node": {
                    "type": "object",
                    "properties": {
                        "value": {"type": "string"},
                        "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}
                    }
                }
            }
        }));
        insta::assert_json_snapshot!(out);
        // A self-reference through the root terminates too, after one expansion.
        let out = cleaned(json!({"type": "object", "properties": {"next": {"$ref": "#"}}}));
        assert_eq!(
            out["properties"]["next"]["properties"]["next"],
            json!({"type": "object", "description": "See: root"})
        );
    }

    #[test]
    fn properties_named_like_keywords_survive() {
        let out = cleaned(json!({
            "type": "object",
            "properties": {
                "$ref": {"type": "string"},
                "const": {"type": "string"},
                "format": {"type": "string", "description": "file format"},
                "additionalProperties": {"type": "boolean"},
                "title": {"type": "string"},
                "x-id": {"type": "integer"},
                "properties": {"type": "object", "properties": {"default": {"type": "string"}}}
            },
            "required": ["$ref", "format", "x-id"]
        }));
        let props = out["properties"].as_object().unwrap();
        let names: Vec<&str> = props.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "$ref",
                "additionalProperties",
                "const",
                "format",
                "properties",
                "title",
                "x-id"
            ]
        );
        assert_eq!(
            props["format"],
            json!({"type": "string", "description": "file format"})
        );
        assert_eq!(
            props["properties"]["properties"]["default"],
            json!({"type": "string"})
        );
        assert_eq!(out["required"], json!(["$ref", "format", "x-id"]));
    }

    #[test]
    fn malformed_mcp_schemas_are_normalised() {
        let out = cleaned(json!({
            "city": {"type": "string", "required": true},
            "days": {"type": "integer", "required": false}
        }));
        insta::assert_json_snapshot!(out);
    }

    #[test]
    fn clean_schemas_are_unchanged_and_junk_does_not_panic() {
        let simple = json!({"type": "object", "properties": {"q": {"type": "string", "description": "query"}}, "required": ["q"]});
        assert_eq!(cleaned(simple.clone()), simple);
        assert_eq!(cleaned(json!(true)), json!({}));
        assert_eq!(
            cleaned(json!({"anyOf": 3, "allOf": "x", "required": 1})),
            json!({})
        );
        // Deep nesting is cut, never a stack overflow.
        let mut deep = json!({"type": "string"});
        for _ in 0..500 {
            deep = json!({"type": "array", "items": deep});
        }
        let _ = cleaned(deep);
    }

    #[test]
    fn gemini_schemas_become_json_schema() {
        let out = gemini_to_json_schema(&json!({
            "type": "OBJECT",
            "properties": {"city": {"type": "STRING", "nullable": true}, "n": {"type": "INTEGER", "nullable": false}},
            "required": ["city"]
        }));
        assert_eq!(
            out,
            json!({"type": "object", "properties": {"city": {"type": ["string", "null"]}, "n": {"type": "integer"}}, "required": ["city"]})
        );
        // And back.
        assert_eq!(
            cleaned(out)["properties"]["city"],
            json!({"type": "string", "nullable": true})
        );
    }

    #[test]
    fn function_names() {
        assert!(is_valid_function_name("get_weather"));
        assert!(is_valid_function_name("_x.y:z-1"));
        assert!(!is_valid_function_name("1tool"));
        assert!(!is_valid_function_name("-tool"));
        assert!(!is_valid_function_name(""));
        assert!(!is_valid_function_name("a b"));
        assert!(!is_valid_function_name(&"a".repeat(65)));
        assert_eq!(sanitize_function_name("get_weather"), "get_weather");
        for name in ["1tool", "a b", "", "日本", &"a".repeat(100), "-x"] {
            let s = sanitize_function_name(name);
            assert!(is_valid_function_name(&s), "{name:?} → {s:?}");
            assert_eq!(s, sanitize_function_name(name));
        }
        assert_ne!(sanitize_function_name("a b"), sanitize_function_name("a/b"));
    }
}
