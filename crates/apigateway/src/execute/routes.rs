//! Which resource of a deployed API a request path reaches: literal segments win over `{var}`,
//! which wins over a greedy `{var+}`; empty segments (a trailing or doubled slash) are
//! ignored, as API Gateway normalizes them.

use super::Pairs;
use crate::store::ApiDoc;

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Literal(String),
    Var(String),
    Greedy(String),
}

#[derive(Debug, Clone)]
pub struct Route {
    pub resource_id: String,
    segs: Vec<Seg>,
}

pub fn compile(doc: &ApiDoc) -> Vec<Route> {
    doc.resources
        .values()
        .map(|r| Route {
            resource_id: r.id.clone(),
            segs: r
                .path
                .split('/')
                .filter(|s| !s.is_empty())
                .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(v) => match v.strip_suffix('+') {
                        Some(g) => Seg::Greedy(g.to_string()),
                        None => Seg::Var(v.to_string()),
                    },
                    None => Seg::Literal(s.to_string()),
                })
                .collect(),
        })
        .collect()
}

/// The best route for `path` (as sent, undecoded) and its path parameters.
pub fn find<'a>(routes: &'a [Route], path: &str) -> Option<(&'a Route, Pairs)> {
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut best: Option<(Vec<u8>, &Route, Pairs)> = None;
    for r in routes {
        if let Some((score, params)) = matches(&r.segs, &parts)
            && best.as_ref().is_none_or(|(b, _, _)| score > *b)
        {
            best = Some((score, r, params));
        }
    }
    best.map(|(_, r, p)| (r, p))
}

/// Per segment, how specific the match is (2 literal, 1 variable, 0 greedy).
fn matches(segs: &[Seg], parts: &[&str]) -> Option<(Vec<u8>, Pairs)> {
    let mut score = Vec::with_capacity(segs.len());
    let mut params = Vec::new();
    for (i, seg) in segs.iter().enumerate() {
        match seg {
            Seg::Literal(l) => {
                if parts.get(i) != Some(&l.as_str()) {
                    return None;
                }
                score.push(2);
            }
            Seg::Var(name) => {
                params.push((name.clone(), (*parts.get(i)?).to_string()));
                score.push(1);
            }
            Seg::Greedy(name) => {
                if i >= parts.len() {
                    return None;
                }
                params.push((name.clone(), parts[i..].join("/")));
                score.push(0);
                return Some((score, params));
            }
        }
    }
    (segs.len() == parts.len()).then_some((score, params))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::store::ResourceDoc;

    fn doc(paths: &[&str]) -> ApiDoc {
        let mut d = ApiDoc::default();
        for (i, p) in paths.iter().enumerate() {
            d.resources
                .insert(i.to_string(), ResourceDoc { id: i.to_string(), path: p.to_string(), ..Default::default() });
        }
        d
    }

    fn route(paths: &[&str], path: &str) -> Option<(String, Vec<(String, String)>)> {
        let d = doc(paths);
        let routes = compile(&d);
        find(&routes, path).map(|(r, p)| (d.resources[&r.resource_id].path.clone(), p))
    }

    #[test]
    fn literal_then_variable_then_greedy() {
        let paths = ["/", "/pets", "/pets/{id}", "/pets/mine", "/{proxy+}"];
        assert_eq!(route(&paths, "/").unwrap().0, "/");
        assert_eq!(route(&paths, "/pets/").unwrap().0, "/pets");
        assert_eq!(route(&paths, "/pets/mine").unwrap().0, "/pets/mine");
        let (p, params) = route(&paths, "/pets/7").unwrap();
        assert_eq!((p.as_str(), params), ("/pets/{id}", vec![("id".into(), "7".into())]));
        let (p, params) = route(&paths, "/a/b%2Bc/").unwrap();
        assert_eq!((p.as_str(), params), ("/{proxy+}", vec![("proxy".into(), "a/b%2Bc".into())]));
        assert!(route(&["/pets"], "/cats").is_none());
        assert!(route(&["/{proxy+}"], "/").is_none());
    }
}
