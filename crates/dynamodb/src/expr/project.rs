//! Applying a projection: the item keeps only the paths named; a nested path keeps only what it
//! names inside its maps, and lists keep the indexed elements, in index order.

use std::collections::BTreeMap;

use super::ast::{Path, PathElem, top_level_names};
use crate::value::{Item, Value};

/// A checked projection expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    pub(crate) paths: Vec<Path>,
}

/// The requested paths as a tree: a node either takes its whole value or some of its children.
#[derive(Default)]
struct Node {
    whole: bool,
    names: BTreeMap<String, Node>,
    indexes: BTreeMap<usize, Node>,
}

impl Node {
    fn from_paths(paths: &[Path]) -> Node {
        let mut root = Node::default();
        for path in paths {
            let mut node = &mut root;
            for elem in &path.0 {
                node = match elem {
                    PathElem::Attr(name) => node.names.entry(name.clone()).or_default(),
                    PathElem::Index(i) => node.indexes.entry(*i).or_default(),
                };
            }
            node.whole = true;
        }
        root
    }

    fn project(&self, value: &Value) -> Option<Value> {
        if self.whole {
            return Some(value.clone());
        }
        match value {
            Value::M(map) => {
                let kept = project_map(map, &self.names);
                (!kept.is_empty()).then_some(Value::M(kept))
            }
            Value::L(list) => {
                let kept: Vec<Value> =
                    self.indexes.iter().filter_map(|(i, node)| node.project(list.get(*i)?)).collect();
                (!kept.is_empty()).then_some(Value::L(kept))
            }
            _ => None,
        }
    }
}

fn project_map(map: &BTreeMap<String, Value>, names: &BTreeMap<String, Node>) -> BTreeMap<String, Value> {
    names.iter().filter_map(|(name, node)| Some((name.clone(), node.project(map.get(name)?)?))).collect()
}

impl Projection {
    /// The item with only the projected paths.
    pub fn apply(&self, item: &Item) -> Item {
        project_map(item, &Node::from_paths(&self.paths).names)
    }

    /// The top-level attributes the projection names, in the order first named.
    pub fn top_level_names(&self) -> Vec<String> {
        top_level_names(&self.paths)
    }
}
