//! Typed questions one kind asks about another kind's nodes, answered by the nodes themselves.
//!
//! A customer gateway needs the VPN connections its VGW planned; a VGW needs its customer
//! gateways' outside addresses and ASNs and its VPC's CIDRs. The engine knows none of these
//! kinds, so it cannot hold their facts: instead a kind defines a question type implementing
//! [`Query`] (in the package that owns the fact, next to the answer's type), the asking kind
//! calls [`Topology::ask`] or [`Topology::ask_node`], and every node that knows the answer gives
//! it in [`NodeSpec::answer`] with [`Question::answer`].
//!
//! [`Topology::ask`]: super::Topology::ask
//! [`Topology::ask_node`]: super::Topology::ask_node
//! [`NodeSpec::answer`]: super::node::NodeSpec::answer
//!
//! ```text
//!  cgw kind ── topo.ask(&VpnConnectionsOf { cgw: "cgw1" }) ──> every node's answer(..)
//!                                                              vgw1: Some(view)  vpc1: -
//!  cgw kind <── [("vgw1", view)] ─────────────────────────────┘
//! ```
//!
//! No node is ever cast to a concrete kind: a node sees a question only through
//! [`Question::answer::<Q>`], which matches the question's type (`TypeId`, the pattern of the
//! standard library's error `Request`) and hands the node a typed `&Q`; the asker gets typed
//! answers back. A node that does not answer `Q` is skipped.
//!
//! It is part of the model (see `crate::model::node` for why); [`Topology::ask`] is defined next
//! to the topology, and `crate::kind` re-exports this module as `engine::kind::query`.
//!
//! What it does not do: cache answers (questions are asked while planning and validating, a
//! handful per node), or order them other than by the topology's declaration order.

use std::any::Any;

/// A question with a typed answer. Implement it on a small struct holding the question's
/// parameters (`VpnConnectionsOf { cgw: String }`).
pub trait Query: 'static {
    /// What a node answers.
    type Answer: 'static;
}

/// One question as a node sees it in [`NodeSpec::answer`](super::node::NodeSpec::answer).
pub struct Question<'a> {
    query: &'a dyn Any,
    answer: &'a mut dyn Any,
}

impl std::fmt::Debug for Question<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Question").finish_non_exhaustive()
    }
}

impl<'a> Question<'a> {
    /// A question carrying `query`, whose answer goes into `answer` (an `Option<Q::Answer>`).
    pub(crate) fn new(query: &'a dyn Any, answer: &'a mut dyn Any) -> Self {
        Question { query, answer }
    }

    /// When this is a `Q` question, calls `give` with it and records what it returns
    /// (`None`: this node has no answer). Other questions pass by untouched.
    pub fn answer<Q: Query>(&mut self, give: impl FnOnce(&Q) -> Option<Q::Answer>) {
        let Some(query) = self.query.downcast_ref::<Q>() else {
            return;
        };
        let Some(slot) = self.answer.downcast_mut::<Option<Q::Answer>>() else {
            return;
        };
        if slot.is_none() {
            *slot = give(query);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Topology;
    use crate::model::node::{NodeSetup, NodeSpec};
    use crate::parse_cx::ParseCx;
    use crate::source::FieldPath;

    struct Colour {
        of: &'static str,
    }
    impl Query for Colour {
        type Answer = String;
    }
    struct Weight;
    impl Query for Weight {
        type Answer = u32;
    }

    #[derive(Debug)]
    struct Fruit {
        name: &'static str,
        path: FieldPath,
    }
    impl NodeSpec for Fruit {
        fn name(&self) -> &str {
            self.name
        }
        fn kind(&self) -> &'static str {
            "fruit"
        }
        fn path(&self) -> &FieldPath {
            &self.path
        }
        fn validate(&self, _: &Topology, _: &ParseCx<'_>) -> Vec<crate::diagnostic::Diagnostic> {
            Vec::new()
        }
        fn setup(&self, _: &Topology) -> NodeSetup {
            NodeSetup::default()
        }
        fn answer(&self, _: &Topology, question: &mut Question<'_>) {
            question.answer::<Colour>(|q| {
                (q.of == self.name).then(|| format!("{} is {}", self.name, "green"))
            });
        }
    }

    fn topo() -> Topology {
        let fruit = |name| -> Box<dyn NodeSpec> {
            Box::new(Fruit {
                name,
                path: FieldPath::default(),
            })
        };
        Topology {
            sites: Vec::new(),
            nodes: vec![fruit("apple"), fruit("pear")],
            links: Vec::new(),
        }
    }

    #[test]
    fn only_the_nodes_that_know_answer() {
        let t = topo();
        assert_eq!(
            t.ask(&Colour { of: "pear" }),
            vec![("pear", "pear is green".to_string())]
        );
        assert_eq!(
            t.ask_node("apple", &Colour { of: "apple" }).as_deref(),
            Some("apple is green")
        );
        assert_eq!(t.ask_node("apple", &Colour { of: "pear" }), None);
        assert_eq!(t.ask_node("plum", &Colour { of: "plum" }), None);
    }

    #[test]
    fn a_question_nobody_answers_gets_no_answers() {
        assert!(topo().ask(&Weight).is_empty());
    }
}
