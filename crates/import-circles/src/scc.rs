//! [`strongly_connected`]: Tarjan's strongly connected components of a small directed graph, and
//! [`cycle_through_all`], a cycle visiting every node of a component when there is one (to print a
//! circle as `a -> b -> c -> a`).
//!
//! Nodes are `0..n`; graphs here are the child modules of one module, so a handful of nodes.

/// The strongly connected components of the graph with nodes `0..n` and `edges`, each sorted,
/// in no particular order.
pub fn strongly_connected(n: usize, edges: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let mut tarjan = Tarjan {
        successors: vec![Vec::new(); n],
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next_index: 0,
        components: Vec::new(),
    };
    for &(from, to) in edges {
        tarjan.successors[from].push(to);
    }
    for node in 0..n {
        if tarjan.index[node].is_none() {
            tarjan.visit(node);
        }
    }
    tarjan.components
}

struct Tarjan {
    successors: Vec<Vec<usize>>,
    index: Vec<Option<usize>>,
    low: Vec<usize>,
    on_stack: Vec<bool>,
    stack: Vec<usize>,
    next_index: usize,
    components: Vec<Vec<usize>>,
}

impl Tarjan {
    fn visit(&mut self, node: usize) {
        self.index[node] = Some(self.next_index);
        self.low[node] = self.next_index;
        self.next_index += 1;
        self.stack.push(node);
        self.on_stack[node] = true;
        for i in 0..self.successors[node].len() {
            let next = self.successors[node][i];
            match self.index[next] {
                None => {
                    self.visit(next);
                    self.low[node] = self.low[node].min(self.low[next]);
                }
                Some(index) if self.on_stack[next] => {
                    self.low[node] = self.low[node].min(index);
                }
                Some(_) => {}
            }
        }
        if Some(self.low[node]) == self.index[node] {
            let mut component = Vec::new();
            while let Some(member) = self.stack.pop() {
                self.on_stack[member] = false;
                component.push(member);
                if member == node {
                    break;
                }
            }
            component.sort_unstable();
            self.components.push(component);
        }
    }
}

/// Components larger than this are not searched for a cycle through all nodes.
const MAX_CYCLE_SEARCH: usize = 8;

/// An order of `nodes` (starting with the smallest) in which each has an edge to the next and
/// the last to the first, if one exists.
pub fn cycle_through_all(nodes: &[usize], edges: &[(usize, usize)]) -> Option<Vec<usize>> {
    let start = *nodes.iter().min()?;
    if nodes.len() > MAX_CYCLE_SEARCH {
        return None;
    }
    let mut path = vec![start];
    extend(&mut path, nodes, edges).then_some(path)
}

fn extend(path: &mut Vec<usize>, nodes: &[usize], edges: &[(usize, usize)]) -> bool {
    let last = *path.last().expect("path starts non-empty");
    if path.len() == nodes.len() {
        return edges.contains(&(last, path[0]));
    }
    let mut candidates: Vec<usize> = nodes
        .iter()
        .copied()
        .filter(|n| !path.contains(n) && edges.contains(&(last, *n)))
        .collect();
    candidates.sort_unstable();
    for next in candidates {
        path.push(next);
        if extend(path, nodes, edges) {
            return true;
        }
        path.pop();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::{cycle_through_all, strongly_connected};

    fn sorted(mut components: Vec<Vec<usize>>) -> Vec<Vec<usize>> {
        components.sort();
        components
    }

    #[test]
    fn a_dag_has_only_single_node_components() {
        let components = strongly_connected(3, &[(0, 1), (1, 2), (0, 2)]);
        assert_eq!(sorted(components), [vec![0], vec![1], vec![2]]);
    }

    #[test]
    fn two_circles_are_two_components() {
        let edges = [(0, 1), (1, 0), (1, 2), (2, 3), (3, 4), (4, 2)];
        let components = strongly_connected(5, &edges);
        assert_eq!(sorted(components), [vec![0, 1], vec![2, 3, 4]]);
    }

    #[test]
    fn a_cycle_through_all_nodes_is_found_when_it_exists() {
        let edges = [(0, 2), (2, 1), (1, 0), (0, 1)];
        assert_eq!(cycle_through_all(&[0, 1, 2], &edges), Some(vec![0, 2, 1]));
        // 0 <-> 1 and 0 <-> 2: strongly connected, but no cycle visits all three.
        let star = [(0, 1), (1, 0), (0, 2), (2, 0)];
        assert_eq!(cycle_through_all(&[0, 1, 2], &star), None);
    }
}
