//! The machinery shared by the page catalogues (the staff console's [`crate::console::i18n`],
//! the portal's [`crate::portal::i18n`], the kiosk's [`crate::kiosk::i18n`] and the admin
//! pages' labels): a catalogue is a `&'static [(key, zh-CN, en)]` sorted by key, looked up by
//! binary search. Each channel keeps its own catalogue and its own language type, declared
//! with `page_language!` so that templates keep calling
//! `c.m.t("key")`, `c.t.label("bank", status)`, ….

/// A message catalogue: `(key, zh-CN, en)`, sorted by key without duplicates (each catalogue's
/// unit test checks it with `assert_catalogue`).
pub type Catalogue = &'static [(&'static str, &'static str, &'static str)];

/// The Chinese and English texts of `key`, if the catalogue has it.
pub fn find(catalogue: Catalogue, key: &str) -> Option<(&'static str, &'static str)> {
    catalogue
        .binary_search_by(|(k, _, _)| (*k).cmp(key))
        .ok()
        .map(|i| (catalogue[i].1, catalogue[i].2))
}

/// `en` when the page is in English, else `zh`.
pub fn pick<'a>(en: bool, zh: &'a str, en_text: &'a str) -> &'a str {
    if en { en_text } else { zh }
}

/// The label `key` in the page's language; `?` (and a warning naming `area`, the channel)
/// when the catalogue lacks it, which the catalogue's unit test forbids.
pub fn text(catalogue: Catalogue, en: bool, key: &str, area: &str) -> &'static str {
    match find(catalogue, key) {
        Some((zh, en_text)) => pick(en, zh, en_text),
        None => {
            tracing::warn!(key, "{area} label missing from the catalogue");
            "?"
        }
    }
}

/// The label of a stored value (`bank.active`, `channel.web`, …): the catalogue's
/// `prefix.name` entry, else `name` itself (values the catalogue does not know yet).
pub fn label(catalogue: Catalogue, en: bool, prefix: &str, name: &str) -> String {
    match find(catalogue, &format!("{prefix}.{name}")) {
        Some((zh, en_text)) => pick(en, zh, en_text).to_string(),
        None => name.to_string(),
    }
}

/// Declares a channel's page-language type: a `Copy` struct with one public field `en` (false
/// is zh-CN, the default) and the methods `t(key)`, `label(prefix, name)` and `pick(zh, en)`
/// over the given catalogue; `area` names the channel in the "label missing" warning.
macro_rules! page_language {
    ($(#[$meta:meta])* $vis:vis struct $name:ident($catalogue:expr, $area:literal);) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        $vis struct $name {
            /// English when true, zh-CN when false.
            pub en: bool,
        }

        impl $name {
            /// The label `key` in this language (`?` when missing: a test forbids that).
            pub fn t(&self, key: &str) -> &'static str {
                $crate::i18n::text($catalogue, self.en, key, $area)
            }

            /// The label of a stored value (`bank.active`, …): the catalogue's `prefix.name`
            /// entry, else `name` itself.
            pub fn label(&self, prefix: &str, name: &str) -> String {
                $crate::i18n::label($catalogue, self.en, prefix, name)
            }

            /// Chinese or English text chosen by the caller (for texts with values in them).
            pub fn pick<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
                $crate::i18n::pick(self.en, zh, en)
            }
        }
    };
}
pub(crate) use page_language;

/// Test helpers shared by the catalogues' unit tests.
#[cfg(test)]
pub mod testing {
    use super::{Catalogue, find};
    use std::path::{Path, PathBuf};

    /// Asserts that the catalogue is sorted by key, has no key twice and no empty text.
    pub fn assert_catalogue(catalogue: Catalogue) {
        for w in catalogue.windows(2) {
            assert!(
                w[0].0 < w[1].0,
                "not sorted or not unique: {} then {}",
                w[0].0,
                w[1].0
            );
        }
        for (k, zh, en) in catalogue {
            assert!(!zh.is_empty() && !en.is_empty(), "{k}");
        }
    }

    /// The files named by `paths` (relative to the crate's root): a directory stands for every
    /// file in it.
    pub fn files(paths: &[&str]) -> Vec<PathBuf> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut out = Vec::new();
        for p in paths {
            let p = root.join(p);
            if p.is_dir() {
                out.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            } else {
                out.push(p);
            }
        }
        out
    }

    /// Every key passed as a string literal to `call` (e.g. `t(` or `l(`) in `files`, with
    /// its file: only literals with a dot and no space count as keys.
    pub fn keys_called(files: &[PathBuf], call: &str) -> Vec<(String, String)> {
        let opening = format!("{call}\"");
        let mut keys = Vec::new();
        for p in files {
            let text = std::fs::read_to_string(p).unwrap();
            for (i, _) in text.match_indices(&opening) {
                let rest = &text[i + opening.len()..];
                let key = &rest[..rest.find('"').unwrap()];
                if key.contains('.') && !key.contains(' ') {
                    keys.push((p.display().to_string(), key.to_string()));
                }
            }
        }
        keys
    }

    /// Asserts that every `(file, key)` names an entry of the catalogue.
    pub fn assert_keys_exist(catalogue: Catalogue, keys: &[(String, String)]) {
        let missing: Vec<String> = keys
            .iter()
            .filter(|(_, key)| find(catalogue, key).is_none())
            .map(|(file, key)| format!("{file}: {key}"))
            .collect();
        assert!(
            missing.is_empty(),
            "labels missing from the catalogue: {missing:?}"
        );
    }
}
