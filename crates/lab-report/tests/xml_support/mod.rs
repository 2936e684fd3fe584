//! A small element tree read with quick-xml, so tests can check what a renderer
//! wrote as a parser sees it: well-formed, with every entity resolved.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// An element with its attributes and children.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Node>,
}

/// A child of an element.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Element(Element),
    Text(String),
}

impl Element {
    /// The value of an attribute.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// This element and every element below it, in document order.
    pub fn descendants(&self) -> Vec<&Element> {
        let mut out = vec![self];
        for child in &self.children {
            if let Node::Element(e) = child {
                out.extend(e.descendants());
            }
        }
        out
    }

    /// The elements below this one with this name.
    pub fn find_all(&self, name: &str) -> Vec<&Element> {
        self.descendants()
            .into_iter()
            .filter(|e| e.name == name)
            .collect()
    }

    /// The direct children that are elements.
    pub fn elements(&self) -> Vec<&Element> {
        self.children
            .iter()
            .filter_map(|c| match c {
                Node::Element(e) => Some(e),
                Node::Text(_) => None,
            })
            .collect()
    }

    /// Every text node below this element.
    pub fn texts(&self) -> Vec<String> {
        let mut out = Vec::new();
        for child in &self.children {
            match child {
                Node::Text(t) => out.push(t.clone()),
                Node::Element(e) => out.extend(e.texts()),
            }
        }
        out
    }
}

fn element(start: &BytesStart<'_>) -> Element {
    let name = start.name().as_ref().to_string();
    let attributes = start
        .attributes()
        .map(|a| {
            let a = a.unwrap_or_else(|e| panic!("bad attribute in <{name}>: {e}"));
            (
                a.key.as_ref().to_string(),
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .unwrap()
                    .into_owned(),
            )
        })
        .collect();
    Element {
        name,
        attributes,
        children: Vec::new(),
    }
}

/// Parse a document into its root element; panics, naming the position, when
/// it is not well-formed.
pub fn parse(text: &str) -> Element {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    let push_text = |stack: &mut Vec<Element>, text: String| {
        if let Some(parent) = stack.last_mut() {
            if let Some(Node::Text(last)) = parent.children.last_mut() {
                last.push_str(&text);
            } else {
                parent.children.push(Node::Text(text));
            }
        } else {
            assert!(text.trim().is_empty(), "text outside the root: {text:?}");
        }
    };
    loop {
        let position = reader.buffer_position();
        let event = reader
            .read_event()
            .unwrap_or_else(|e| panic!("not well-formed at byte {position}: {e}"));
        match event {
            Event::Start(start) => stack.push(element(&start)),
            Event::Empty(start) => {
                let e = element(&start);
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(e)),
                    None => root = Some(e),
                }
            }
            Event::End(_) => {
                let done = stack.pop().expect("an end tag without a start");
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(done)),
                    None => {
                        assert!(root.is_none(), "two root elements");
                        root = Some(done);
                    }
                }
            }
            Event::Text(t) => push_text(&mut stack, t.xml10_content().into_owned()),
            Event::CData(t) => push_text(&mut stack, t.into_inner().into_owned()),
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref().unwrap().unwrap().to_string()
                } else {
                    match r.xml10_content().as_ref() {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "apos" => "'",
                        other => panic!("entity &{other}; is not defined in XML"),
                    }
                    .to_string()
                };
                push_text(&mut stack, resolved);
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::DocType(_) | Event::Comment(_) => {}
        }
    }
    assert!(
        stack.is_empty(),
        "unclosed elements: {:?}",
        stack.iter().map(|e| &e.name).collect::<Vec<_>>()
    );
    root.expect("no root element")
}
