//! Taxonomy and model-manifest JSON, as a caller or a model directory could hand them over.
//! The first byte picks the parser; the rest is the file's text.
//!
//! Properties: parsing never panics; what parses is valid and survives a round trip
//! through JSON unchanged; a taxonomy's labels are unique, found by `index_of`, and each is
//! reachable in the label trie built from its bytes.
#![no_main]

use intent_core::trie::LabelTrie;
use intent_core::{ModelManifest, Taxonomy};
use libfuzzer_sys::fuzz_target;

fn check_taxonomy(text: &str) {
    let Ok(t) = Taxonomy::from_json(text) else { return };
    t.validate().expect("a parsed taxonomy is valid");
    let again = Taxonomy::from_json(&serde_json::to_string(&t).unwrap()).expect("a valid taxonomy round-trips");
    assert_eq!(again, t);
    let labels: Vec<&str> = t.labels().collect();
    for (i, l) in labels.iter().enumerate() {
        assert_eq!(t.index_of(l), Some(i), "index_of({l})");
    }
    assert_eq!(t.subset(&labels).unwrap().len(), labels.len());
    if let Some(f) = &t.fallback {
        assert!(t.index_of(f).is_some(), "fallback {f} is a label");
    }
    // Bytes as tokens (id = byte + 10), end token 2: distinct labels always make a trie.
    let tokens: Vec<Vec<i32>> = labels.iter().map(|l| l.bytes().map(|b| i32::from(b) + 10).collect()).collect();
    let entries: Vec<(usize, &[i32])> = tokens.iter().enumerate().map(|(i, t)| (i, t.as_slice())).collect();
    let trie = LabelTrie::new(&entries, Some(2), &|i| labels[i].to_string()).expect("unique labels make a trie");
    let mut reachable = trie.labels_under(0);
    reachable.sort_unstable();
    assert_eq!(reachable, (0..labels.len()).collect::<Vec<_>>());
}

fn check_manifest(text: &str) {
    let Ok(m) = ModelManifest::from_json(text) else { return };
    let again = ModelManifest::from_json(&serde_json::to_string(&m).unwrap()).expect("a valid manifest round-trips");
    assert_eq!(again, m);
    let _ = m.applies_to(&Taxonomy::ecommerce_v1());
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    if which % 2 == 0 {
        check_taxonomy(text);
    } else {
        check_manifest(text);
    }
});
