//! The YAML layer of the compose reader: a tree of [`Node`]s with the location of each, after
//! anchors, aliases and merge keys are resolved, read through `serde-saphyr` within limits on
//! depth, size and alias expansion; and the conversions from the parser's locations to bytes.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

use super::{MAX_DEPTH, MAX_INPUT_BYTES};

/// Where a node's text is: bytes when the YAML parser knows them, characters otherwise.
#[derive(Clone, Copy, Debug)]
pub(super) struct Loc {
    pub(super) offset: u64,
    pub(super) len: u64,
    pub(super) in_bytes: bool,
}

impl Loc {
    pub(super) fn of(spanned_defined: Location, spanned_referenced: Location) -> Loc {
        let location = if spanned_defined == Location::UNKNOWN {
            spanned_referenced
        } else {
            spanned_defined
        };
        let span = location.span();
        match (span.byte_offset(), span.byte_len()) {
            (Some(offset), Some(len)) => Loc {
                offset,
                len,
                in_bytes: true,
            },
            _ => Loc {
                offset: span.offset(),
                len: span.len(),
                in_bytes: false,
            },
        }
    }
}

/// A YAML node: what compose sees after anchors, aliases and merge keys are resolved.
#[derive(Debug)]
pub(super) struct Node {
    pub(super) value: NodeValue,
    pub(super) at: Loc,
}

#[derive(Debug)]
pub(super) enum NodeValue {
    Null,
    String(String),
    /// A number or boolean, formatted by us; the file's own spelling is read from the span.
    Other(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl From<Spanned<NodeValue>> for Node {
    fn from(s: Spanned<NodeValue>) -> Self {
        Node {
            at: Loc::of(s.defined, s.referenced),
            value: s.value,
        }
    }
}

impl Node {
    pub(super) fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            NodeValue::Map(entries) => entries
                .iter()
                .rev()
                .find(|(k, _)| k.key() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub(super) fn key(&self) -> Option<&str> {
        match &self.value {
            NodeValue::String(s) | NodeValue::Other(s) => Some(s),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for NodeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<NodeValue, E> {
        Ok(NodeValue::Other(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<NodeValue, E> {
        Ok(NodeValue::Other(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<NodeValue, E> {
        Ok(NodeValue::Other(v.to_string()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<NodeValue, E> {
        Ok(NodeValue::Other(v.to_string()))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<NodeValue, E> {
        Ok(NodeValue::Other(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<NodeValue, E> {
        Ok(NodeValue::Other(v.to_string()))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<NodeValue, E> {
        Ok(NodeValue::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<NodeValue, E> {
        Ok(NodeValue::String(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<NodeValue, E> {
        Ok(NodeValue::String(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<NodeValue, D::Error> {
        NodeValue::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<NodeValue>>()? {
            items.push(Node::from(item));
        }
        Ok(NodeValue::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<NodeValue>>()? {
            let value = map.next_value::<Spanned<NodeValue>>()?;
            entries.push((Node::from(key), Node::from(value)));
        }
        Ok(NodeValue::Map(entries))
    }
}

pub(super) fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            max_nodes: 100_000,
            max_events: 400_000,
            max_total_scalar_bytes: MAX_INPUT_BYTES,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 100_000,
        },
        // compose reads YAML 1.2: `yes`/`no`/`on`/`off` are strings.
        strict_booleans: true,
        with_snippet: false,
    }
}

/// Byte offset of the `chars`-th character (clamped to the text).
pub(super) fn char_to_byte(text: &str, chars: u64) -> usize {
    let chars = usize::try_from(chars).unwrap_or(usize::MAX);
    text.char_indices()
        .nth(chars)
        .map_or(text.len(), |(i, _)| i)
}

/// Byte offset of a 1-based line and character column (clamped to the text).
pub(super) fn line_col_to_byte(text: &str, line: u64, column: u64) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match text[start..].find('\n') {
            Some(p) => start += p + 1,
            None => return text.len(),
        }
    }
    let line_text = &text[start..];
    start + char_to_byte(line_text, column.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{parse_str, slice};
    use super::*;

    #[test]
    fn anchors_aliases_and_merge_keys_point_at_their_definition() {
        let text = "x-ports: &ports\n  - \"3210:3210\"\nx-base: &base\n  image: base\n  network_mode: host\nservices:\n  a:\n    <<: *base\n    image: own\n    ports: *ports\n";
        let file = parse_str(text);
        assert!(file.diagnostics.is_empty(), "{:?}", file.diagnostics);
        let a = &file.services[0];
        assert_eq!(a.image.as_ref().unwrap().value, "own");
        let mode = a.network_mode.as_ref().unwrap();
        assert_eq!(
            (mode.value.as_str(), slice(text, mode.span)),
            ("host", "host")
        );
        assert_eq!(mode.span.start, 76);
        assert_eq!(slice(text, a.ports[0].span), "\"3210:3210\"");
        assert_eq!(a.ports[0].span.start, 20);
    }

    #[test]
    fn invalid_yaml_is_one_error_where_the_parser_stopped() {
        let cases = [
            ("services:\n  a:\n    ports: [\n  b: \"x\n", (4, 6)),
            ("# é\nservices:\n  a: 1\n  a: 2\n", (4, 3)),
            ("services:\n\ta: 1\n", (2, 2)),
            ("a: 1\n---\nb: 2\n", (3, 1)),
        ];
        for (text, (line, column)) in cases {
            let file = parse_str(text);
            assert!(file.services.is_empty(), "{text:?}");
            assert_eq!(file.diagnostics.len(), 1, "{text:?}");
            let d = &file.diagnostics[0];
            assert!(
                d.is_error() && d.message.starts_with("invalid YAML: "),
                "{}",
                d.message
            );
            assert!(!d.message.contains("at line"), "{}", d.message);
            let at = crate::source::SourceFile::new("c.yml", text)
                .line_col(d.primary.span.start as usize);
            assert_eq!(
                (at.line, at.column),
                (line, column),
                "{text:?}: {}",
                d.message
            );
        }
    }

    #[test]
    fn hostile_input_is_refused_without_crashing() {
        let mut deep_block = String::new();
        for i in 0..200 {
            deep_block.push_str(&format!("{}k:\n", "  ".repeat(i)));
        }
        let deep_flow = format!("services: {}{}", "[".repeat(10_000), "]".repeat(10_000));
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for i in 0..20 {
            let prev = if i == 0 {
                "a".to_owned()
            } else {
                format!("b{}", i - 1)
            };
            bomb.push_str(&format!(
                "b{i}: &b{i} [{}]\n",
                vec![format!("*{prev}"); 9].join(", ")
            ));
        }
        let huge = "#".repeat(MAX_INPUT_BYTES + 1);
        for text in [deep_block, deep_flow, bomb, huge] {
            // Refused, not expanded (an unbounded expansion would not finish).
            let file = parse_str(&text);
            assert_eq!(file.diagnostics.len(), 1, "{}", &text[..40]);
        }
    }

    #[test]
    fn a_byte_order_mark_keeps_byte_offsets() {
        let text = "\u{feff}services:\n  s:\n    ports: [\"1:1\"]\n";
        let file = parse_str(text);
        assert_eq!(slice(text, file.services[0].ports[0].span), "\"1:1\"");
    }
}
