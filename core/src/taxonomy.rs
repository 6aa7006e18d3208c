//! Taxonomies: the set of intents an engine chooses from, each with a one-line description.

use crate::error::{Error, Result, Status};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::Path;

/// Name of the built-in e-commerce taxonomy.
pub const ECOMMERCE_V1: &str = "ecommerce-v1";
/// Most intents a taxonomy may hold.
pub const MAX_INTENTS: usize = 512;
/// Longest label, in bytes.
pub const MAX_LABEL_BYTES: usize = 64;
/// Longest description, in bytes.
pub const MAX_DESCRIPTION_BYTES: usize = 512;
/// Largest taxonomy file read, in bytes.
pub const MAX_TAXONOMY_FILE_BYTES: u64 = 1 << 20;

/// One intent: a label the engine can answer and what it means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intent {
    /// The label, e.g. `track_order`.
    pub label: String,
    /// One line saying when this intent applies.
    pub description: String,
}

/// A validated set of intents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Taxonomy {
    /// Name of the taxonomy, e.g. `ecommerce-v1`.
    pub name: String,
    /// Label returned when the best label's probability is under the engine's threshold.
    /// Must be one of the intents; `None` disables the fallback.
    #[serde(default)]
    pub fallback: Option<String>,
    /// The intents, in a stable order.
    pub intents: Vec<Intent>,
}

const ECOMMERCE_V1_INTENTS: &[(&str, &str)] = &[
    ("place_order", "the customer wants to buy something or place a new order"),
    ("cancel_order", "the customer wants to cancel an order they placed"),
    ("change_order", "the customer wants to modify an existing order (items, quantity, size)"),
    ("track_order", "the customer asks where their order or parcel is, or its status"),
    ("check_cancellation_fee", "the customer asks whether cancelling costs a fee, or how much"),
    ("delivery_options", "the customer asks which shipping methods or carriers are available"),
    ("delivery_period", "the customer asks how long delivery takes or when it will arrive"),
    ("delivery_problem", "a delivery went wrong: late, damaged, missing or wrong item"),
    ("change_shipping_address", "the customer wants to change the delivery address of an order"),
    ("set_up_shipping_address", "the customer wants to add or save a new shipping address"),
    ("return_product", "the customer wants to send a product back"),
    ("check_refund_policy", "the customer asks about the rules for refunds or returns"),
    ("get_refund", "the customer wants their money back"),
    ("track_refund", "the customer asks about the status of a refund already requested"),
    ("check_payment_methods", "the customer asks which payment methods are accepted"),
    ("payment_issue", "a payment failed, was charged twice, or has another problem"),
    ("check_invoice", "the customer asks about the content of an invoice or bill"),
    ("get_invoice", "the customer wants a copy of an invoice or receipt"),
    ("create_account", "the customer wants to open a new account"),
    ("delete_account", "the customer wants to close or delete their account"),
    ("edit_account", "the customer wants to change account details (name, email, phone)"),
    ("recover_password", "the customer forgot their password or cannot log in"),
    ("registration_problems", "the customer has trouble signing up or registering"),
    ("switch_account", "the customer wants to use or change to another account"),
    ("contact_customer_service", "the customer wants to reach customer service (phone, email, hours)"),
    ("contact_human_agent", "the customer wants to talk to a real person instead of a bot"),
    ("complaint", "the customer is unhappy and wants to complain"),
    ("review", "the customer wants to leave a review or give feedback"),
    ("newsletter_subscription", "the customer wants to subscribe to or unsubscribe from the newsletter"),
    ("search_product", "the customer is looking for something to buy"),
    ("product_info", "the customer asks about a product's availability, size, price or specs"),
    ("promotions", "the customer asks about discounts, coupons, sales or gift cards"),
    ("chit_chat", "greetings, thanks, small talk or questions about the assistant"),
    ("out_of_scope", "the message is unrelated to shopping in this store"),
];

impl Taxonomy {
    /// The built-in `ecommerce-v1` taxonomy, fallback `out_of_scope`.
    ///
    /// It holds exactly the labels the product specification lists, group by group
    /// (34 of them; the specification's headline count of 35 does not match its own list).
    pub fn ecommerce_v1() -> Taxonomy {
        let intents = ECOMMERCE_V1_INTENTS
            .iter()
            .map(|(l, d)| Intent { label: (*l).into(), description: (*d).into() })
            .collect();
        Taxonomy { name: ECOMMERCE_V1.into(), fallback: Some("out_of_scope".into()), intents }
    }

    /// A built-in taxonomy by name.
    pub fn builtin(name: &str) -> Result<Taxonomy> {
        match name {
            ECOMMERCE_V1 => Ok(Taxonomy::ecommerce_v1()),
            other => Err(Error::new(
                Status::InvalidTaxonomy,
                format!("no built-in taxonomy named '{other}' (built-in: {ECOMMERCE_V1})"),
            )),
        }
    }

    /// Parses and validates a taxonomy from JSON text.
    pub fn from_json(text: &str) -> Result<Taxonomy> {
        let taxonomy: Taxonomy = serde_json::from_str(text)
            .map_err(|e| Error::new(Status::InvalidTaxonomy, format!("taxonomy JSON is malformed: {e}")))?;
        taxonomy.validate()?;
        Ok(taxonomy)
    }

    /// Reads a taxonomy from a JSON file.
    pub fn from_file(path: &Path) -> Result<Taxonomy> {
        let meta = std::fs::metadata(path)
            .map_err(|e| Error::new(Status::InvalidTaxonomy, format!("cannot read taxonomy {}: {e}", path.display())))?;
        if meta.len() > MAX_TAXONOMY_FILE_BYTES {
            return Err(Error::new(
                Status::InvalidTaxonomy,
                format!("taxonomy {} is {} bytes, over the {} byte limit", path.display(), meta.len(), MAX_TAXONOMY_FILE_BYTES),
            ));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::new(Status::InvalidTaxonomy, format!("cannot read taxonomy {}: {e}", path.display())))?;
        Taxonomy::from_json(&text).map_err(|e| Error::new(e.status, format!("{}: {}", path.display(), e.message)))
    }

    /// A built-in name or a JSON file path.
    pub fn load(name_or_path: &str) -> Result<Taxonomy> {
        if name_or_path == ECOMMERCE_V1 {
            Taxonomy::builtin(name_or_path)
        } else {
            Taxonomy::from_file(Path::new(name_or_path))
        }
    }

    /// Checks the invariants: a name, 2 to [`MAX_INTENTS`] unique, well-formed labels with
    /// descriptions, and a fallback that is one of them.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::new(Status::InvalidTaxonomy, m));
        if self.name.trim().is_empty() {
            return bad("taxonomy name is empty".into());
        }
        if self.intents.len() < 2 {
            return bad(format!("taxonomy '{}' has {} intents; at least 2 are needed", self.name, self.intents.len()));
        }
        if self.intents.len() > MAX_INTENTS {
            return bad(format!("taxonomy '{}' has {} intents, over the limit of {MAX_INTENTS}", self.name, self.intents.len()));
        }
        let mut seen = HashSet::new();
        for (i, intent) in self.intents.iter().enumerate() {
            check_label(&intent.label).map_err(|m| Error::new(Status::InvalidTaxonomy, format!("intent #{i}: {m}")))?;
            if !seen.insert(intent.label.as_str()) {
                return bad(format!("label '{}' appears twice", intent.label));
            }
            let d = intent.description.trim();
            if d.is_empty() {
                return bad(format!("intent '{}' has an empty description", intent.label));
            }
            if d.len() > MAX_DESCRIPTION_BYTES || d.contains(['\n', '\r']) {
                return bad(format!("description of '{}' must be one line of at most {MAX_DESCRIPTION_BYTES} bytes", intent.label));
            }
        }
        if let Some(f) = &self.fallback {
            if !seen.contains(f.as_str()) {
                return bad(format!("fallback label '{f}' is not one of the intents"));
            }
        }
        Ok(())
    }

    /// The labels, in order.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.intents.iter().map(|i| i.label.as_str())
    }

    /// The index of a label.
    pub fn index_of(&self, label: &str) -> Option<usize> {
        self.intents.iter().position(|i| i.label == label)
    }

    /// Resolves a subset of labels to sorted, de-duplicated indices.
    /// An empty subset or an unknown label is an error naming it.
    pub fn subset(&self, labels: &[&str]) -> Result<Vec<usize>> {
        if labels.is_empty() {
            return Err(Error::new(Status::EmptyLabelSet, "the allowed label set is empty"));
        }
        let mut idx = Vec::with_capacity(labels.len());
        for l in labels {
            let l = l.trim();
            match self.index_of(l) {
                Some(i) => idx.push(i),
                None => {
                    return Err(Error::new(
                        Status::UnknownLabel,
                        format!("label '{l}' is not in taxonomy '{}'", self.name),
                    ))
                }
            }
        }
        idx.sort_unstable();
        idx.dedup();
        Ok(idx)
    }
}

fn check_label(label: &str) -> std::result::Result<(), String> {
    if label.is_empty() {
        return Err("label is empty".into());
    }
    if label.len() > MAX_LABEL_BYTES {
        return Err(format!("label '{label}' is longer than {MAX_LABEL_BYTES} bytes"));
    }
    if !label.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-') {
        return Err(format!("label '{label}' may only hold a-z, 0-9, '_' and '-'"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecommerce_v1_has_the_intents_of_the_spec() {
        let t = Taxonomy::ecommerce_v1();
        t.validate().unwrap();
        assert_eq!(t.intents.len(), 34);
        for l in ["place_order", "check_cancellation_fee", "set_up_shipping_address", "track_refund",
                  "get_invoice", "switch_account", "contact_human_agent", "review",
                  "newsletter_subscription", "promotions", "chit_chat", "out_of_scope"] {
            assert!(t.index_of(l).is_some(), "{l} missing");
        }
        assert_eq!(t.fallback.as_deref(), Some("out_of_scope"));
    }

    #[test]
    fn json_round_trip_and_errors_name_the_problem() {
        let t = Taxonomy::from_json(r#"{"name":"mini","intents":[{"label":"a","description":"x"},{"label":"b","description":"y"}]}"#).unwrap();
        assert_eq!(t.labels().collect::<Vec<_>>(), ["a", "b"]);
        let cases = [
            ("{", "malformed"),
            (r#"{"name":"m","intents":[{"label":"a","description":"x"}]}"#, "at least 2"),
            (r#"{"name":"m","intents":[{"label":"a","description":"x"},{"label":"a","description":"y"}]}"#, "appears twice"),
            (r#"{"name":"m","intents":[{"label":"A b","description":"x"},{"label":"c","description":"y"}]}"#, "may only hold"),
            (r#"{"name":"m","intents":[{"label":"a","description":""},{"label":"c","description":"y"}]}"#, "empty description"),
            (r#"{"name":"m","fallback":"z","intents":[{"label":"a","description":"x"},{"label":"c","description":"y"}]}"#, "fallback label 'z'"),
            (r#"{"name":"m","intents":[],"extra":1}"#, "unknown field"),
        ];
        for (json, needle) in cases {
            let e = Taxonomy::from_json(json).unwrap_err();
            assert_eq!(e.status, Status::InvalidTaxonomy);
            assert!(e.message.contains(needle), "{json}: {}", e.message);
        }
    }

    #[test]
    fn subsets_are_checked() {
        let t = Taxonomy::ecommerce_v1();
        assert_eq!(t.subset(&[]).unwrap_err().status, Status::EmptyLabelSet);
        let e = t.subset(&["track_order", "newsletter"]).unwrap_err();
        assert_eq!(e.status, Status::UnknownLabel);
        assert!(e.message.contains("'newsletter'"));
        let s = t.subset(&["track_order", "cancel_order", "track_order"]).unwrap();
        assert_eq!(s, vec![1, 3]);
    }

    #[test]
    fn a_missing_file_is_an_unreadable_taxonomy() {
        let e = Taxonomy::load("/nonexistent/taxonomy.json").unwrap_err();
        assert_eq!(e.status, Status::InvalidTaxonomy);
        assert!(e.message.contains("/nonexistent/taxonomy.json"));
    }
}
