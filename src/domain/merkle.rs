//! Merkle tree hashing as RFC 6962 (Certificate Transparency) defines it: a leaf is hashed with a
//! 0x00 prefix and an inner node with 0x01, so a leaf can never pass for a node; the tree of n
//! leaves splits at the largest power of two below n. An inclusion proof is RFC 6962's audit path
//! (§2.1.1), checked as RFC 9162 §2.1.3.2 does, so an inspector can check one with any CT
//! library.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// The hash of a leaf's data.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(data);
    hasher.finalize().into()
}

/// The hash of an inner node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([1u8]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The root of a tree whose leaves arrive one at a time, kept in O(log n) memory: the complete
/// subtrees so far, largest first, as the binary digits of the count.
#[derive(Debug, Default, Clone)]
pub struct RootBuilder {
    /// (number of leaves, hash) of each complete subtree, sizes strictly decreasing.
    subtrees: Vec<(u64, Hash)>,
    size: u64,
}

impl RootBuilder {
    pub fn push(&mut self, leaf: Hash) {
        let mut carry = (1u64, leaf);
        while let Some(&(size, hash)) = self.subtrees.last() {
            if size != carry.0 {
                break;
            }
            self.subtrees.pop();
            carry = (size * 2, node_hash(&hash, &carry.1));
        }
        self.subtrees.push(carry);
        self.size += 1;
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The tree's root: the subtrees joined right to left, which is RFC 6962's split at the
    /// largest power of two. The empty tree's root is the hash of nothing.
    pub fn root(&self) -> Hash {
        let mut subtrees = self.subtrees.iter().rev();
        let Some(&(_, mut root)) = subtrees.next() else {
            return Sha256::digest([]).into();
        };
        for (_, left) in subtrees {
            root = node_hash(left, &root);
        }
        root
    }
}

/// The root over `leaves` (leaf hashes).
pub fn root(leaves: &[Hash]) -> Hash {
    let mut builder = RootBuilder::default();
    for leaf in leaves {
        builder.push(*leaf);
    }
    builder.root()
}

/// The largest power of two below `n` (n >= 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// The audit path of leaf `index` in the tree of `leaves`, from the leaf up; `None` when the index
/// is outside the tree.
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Option<Vec<Hash>> {
    if index >= leaves.len() {
        return None;
    }
    let mut path = Vec::new();
    let (mut tree, mut at) = (leaves, index);
    // Walk down from the root, keeping the sibling subtree's root at each split; the path is
    // those roots from the bottom up.
    while tree.len() > 1 {
        let k = split(tree.len());
        if at < k {
            path.push(root(&tree[k..]));
            tree = &tree[..k];
        } else {
            path.push(root(&tree[..k]));
            tree = &tree[k..];
            at -= k;
        }
    }
    path.reverse();
    Some(path)
}

/// Whether `proof` shows `leaf` at `index` in the tree of `size` leaves whose root is `root`
/// (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut hash = *leaf;
    for sibling in proof {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            hash = node_hash(sibling, &hash);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            hash = node_hash(&hash, sibling);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && hash == *root
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The leaves and roots of Certificate Transparency's reference tests (each root is the tree
    /// of the first n leaves).
    fn reference() -> (Vec<Vec<u8>>, [&'static str; 8]) {
        let leaves = vec![
            vec![],
            vec![0x00],
            vec![0x10],
            vec![0x20, 0x21],
            vec![0x30, 0x31],
            vec![0x40, 0x41, 0x42, 0x43],
            (0x50..0x58).collect(),
            (0x60..0x70).collect(),
        ];
        let roots = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        (leaves, roots)
    }

    #[test]
    fn roots_match_certificate_transparencys_reference_trees() {
        let (data, roots) = reference();
        let leaves: Vec<Hash> = data.iter().map(|d| leaf_hash(d)).collect();
        for (n, expected) in roots.iter().enumerate() {
            assert_eq!(
                hex::encode(root(&leaves[..=n])),
                *expected,
                "{} leaves",
                n + 1
            );
        }
        assert_eq!(
            hex::encode(root(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn every_leaf_of_every_size_proves_and_nothing_else_does() {
        let leaves: Vec<Hash> = (0u32..37).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for size in 1..=leaves.len() {
            let tree = &leaves[..size];
            let top = root(tree);
            for index in 0..size {
                let proof = inclusion_proof(tree, index).unwrap();
                let (i, n) = (index as u64, size as u64);
                assert!(verify_inclusion(&tree[index], i, n, &proof, &top));
                // Another leaf, another place or a cut proof does not pass. (The size is the
                // signed head's, so a proof is only ever checked at its own size.)
                let other = leaf_hash(b"other");
                assert!(!verify_inclusion(&other, i, n, &proof, &top));
                if size > 1 {
                    assert!(!verify_inclusion(
                        &tree[index],
                        (i + 1) % n,
                        n,
                        &proof,
                        &top
                    ));
                    assert!(!verify_inclusion(&tree[index], i, n, &proof[1..], &top));
                }
                assert!(!verify_inclusion(&tree[index], n, n, &proof, &top));
            }
            assert!(inclusion_proof(tree, size).is_none());
        }
    }
}
