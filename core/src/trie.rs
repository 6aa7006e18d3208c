//! A trie over the token sequences of the allowed labels: the constraint that makes an
//! invalid answer impossible, and the plan of which positions must be scored.
//!
//! Labels sit only at leaves. When one label's tokens are a prefix of another's, the
//! shorter one ends with the model's end-of-turn token, as the model would write it.

use crate::error::{Error, Result, Status};

/// One node: the token path from the root, its children, and the label of a leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Tokens from the root to this node.
    pub path: Vec<i32>,
    /// `(token, child index)` in insertion order.
    pub children: Vec<(i32, usize)>,
    /// For a leaf: the label's index in the caller's label list.
    pub label: Option<usize>,
}

/// The trie. Node 0 is the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelTrie {
    nodes: Vec<Node>,
}

impl LabelTrie {
    /// Builds the trie of `labels` (`(label index, token sequence)`); `end_token` closes labels
    /// that are a prefix of others. Errors name labels that cannot be told apart.
    pub fn new(labels: &[(usize, &[i32])], end_token: Option<i32>, names: &dyn Fn(usize) -> String) -> Result<LabelTrie> {
        let mut nodes = vec![Node { path: Vec::new(), children: Vec::new(), label: None }];
        for &(label, tokens) in labels {
            if tokens.is_empty() {
                return Err(Error::new(Status::InvalidTaxonomy, format!("label '{}' tokenizes to nothing", names(label))));
            }
            let mut at = 0;
            for &t in tokens {
                at = match nodes[at].children.iter().find(|(tok, _)| *tok == t) {
                    Some(&(_, child)) => child,
                    None => {
                        let mut path = nodes[at].path.clone();
                        path.push(t);
                        nodes.push(Node { path, children: Vec::new(), label: None });
                        let child = nodes.len() - 1;
                        nodes[at].children.push((t, child));
                        child
                    }
                };
            }
            if let Some(other) = nodes[at].label {
                return Err(Error::new(
                    Status::InvalidTaxonomy,
                    format!("labels '{}' and '{}' have the same tokens", names(other), names(label)),
                ));
            }
            nodes[at].label = Some(label);
        }
        // Move labels off inner nodes: a label that is a prefix of another ends with the end token.
        for i in 0..nodes.len() {
            if nodes[i].label.is_some() && !nodes[i].children.is_empty() {
                let label = nodes[i].label.take().unwrap_or_default();
                let end = end_token.ok_or_else(|| {
                    Error::new(
                        Status::InvalidTaxonomy,
                        format!("label '{}' is a token prefix of another label and the model has no end token", names(label)),
                    )
                })?;
                if nodes[i].children.iter().any(|(t, _)| *t == end) {
                    return Err(Error::new(Status::InvalidTaxonomy, format!("label '{}' contains the end token", names(label))));
                }
                let mut path = nodes[i].path.clone();
                path.push(end);
                nodes.push(Node { path, children: Vec::new(), label: Some(label) });
                let leaf = nodes.len() - 1;
                nodes[i].children.push((end, leaf));
            }
        }
        Ok(LabelTrie { nodes })
    }

    /// All nodes; node 0 is the root.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// A node by index.
    pub fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }

    /// Whether the model must be asked at this node (it has more than one child).
    pub fn is_branching(&self, i: usize) -> bool {
        self.nodes[i].children.len() > 1
    }

    /// Follows single-child links from `i` to the first leaf or branching node.
    pub fn resolve(&self, mut i: usize) -> usize {
        while self.nodes[i].children.len() == 1 {
            i = self.nodes[i].children[0].1;
        }
        i
    }

    /// Labels at the leaves under node `i`.
    pub fn labels_under(&self, i: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut stack = vec![i];
        while let Some(n) = stack.pop() {
            if let Some(l) = self.nodes[n].label {
                out.push(l);
            }
            stack.extend(self.nodes[n].children.iter().map(|&(_, c)| c));
        }
        out
    }

    /// The branching nodes in the subtree of node `i` (itself included).
    pub fn branching_under(&self, i: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut stack = vec![i];
        while let Some(n) = stack.pop() {
            if self.is_branching(n) {
                out.push(n);
            }
            stack.extend(self.nodes[n].children.iter().map(|&(_, c)| c));
        }
        out.sort_unstable();
        out
    }

    /// Number of branching nodes: the scoring steps one query needs in the worst case.
    pub fn n_branching(&self) -> usize {
        (0..self.nodes.len()).filter(|&i| self.is_branching(i)).count()
    }

    /// Sum of the path lengths of the branching nodes other than the root: the most tokens
    /// scoring one query can add after the query itself.
    pub fn branch_tokens(&self) -> usize {
        (1..self.nodes.len()).filter(|&i| self.is_branching(i)).map(|i| self.nodes[i].path.len()).sum()
    }
}

/// Softmax of `logits`, computed stably.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|&l| (l - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(i: usize) -> String {
        format!("L{i}")
    }

    #[test]
    fn distinct_first_tokens_need_one_step() {
        let t = LabelTrie::new(&[(0, &[1, 2]), (1, &[3]), (2, &[4, 5, 6])], Some(99), &name).unwrap();
        assert!(t.is_branching(0));
        assert_eq!(t.n_branching(), 1);
        assert_eq!(t.branch_tokens(), 0);
        let mut labels = t.labels_under(0);
        labels.sort();
        assert_eq!(labels, vec![0, 1, 2]);
    }

    #[test]
    fn shared_prefixes_branch_later_and_prefix_labels_end_with_the_end_token() {
        // L0 = [7, 1], L1 = [7, 2, 3], L2 = [7, 2]  (L2 is a prefix of L1)
        let t = LabelTrie::new(&[(0, &[7, 1]), (1, &[7, 2, 3]), (2, &[7, 2])], Some(99), &name).unwrap();
        assert!(!t.is_branching(0));
        let b = t.resolve(0);
        assert_eq!(t.node(b).path, vec![7]);
        let two = t.node(b).children.iter().find(|(tok, _)| *tok == 2).unwrap().1;
        assert!(t.is_branching(two));
        let end_leaf = t.node(two).children.iter().find(|(tok, _)| *tok == 99).unwrap().1;
        assert_eq!(t.node(end_leaf).label, Some(2));
        assert_eq!(t.node(end_leaf).path, vec![7, 2, 99]);
        assert_eq!(t.branch_tokens(), 1 + 2);
    }

    #[test]
    fn indistinguishable_labels_are_errors() {
        let e = LabelTrie::new(&[(0, &[1, 2]), (1, &[1, 2])], Some(9), &name).unwrap_err();
        assert!(e.message.contains("'L0' and 'L1'"));
        let e = LabelTrie::new(&[(0, &[1]), (1, &[1, 2])], None, &name).unwrap_err();
        assert!(e.message.contains("prefix"));
        assert!(LabelTrie::new(&[(0, &[])], Some(9), &name).is_err());
    }

    #[test]
    fn softmax_is_stable_and_normalised() {
        let p = softmax(&[1000.0, 1000.0, f32::NEG_INFINITY]);
        assert!((p[0] - 0.5).abs() < 1e-6 && (p[1] - 0.5).abs() < 1e-6 && p[2] == 0.0);
    }
}
