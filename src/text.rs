//! Rules for text from outside, applied where it enters (the JSON body and query extractors, the
//! CSV stock parser), so no field can forget them:
//!
//! - no control characters (U+0000–U+001F, U+007F–U+009F) or bidirectional controls
//!   (U+202A–U+202E, U+2066–U+2069) anywhere: they would show up as forged lines in e-mails and
//!   logs, or make a listing read differently from what it holds;
//! - e-mail addresses are plain `local@domain` that the mailer accepts as they are, and with an
//!   internationalised domain name in the ASCII form the mailer sends (see [`mail_address`]).

use std::net::IpAddr;

use crate::domain::FieldError;

/// Most field errors one body reports (a stock import may hold millions of entries).
const MAX_ERRORS: usize = 50;

/// A character no text may hold.
pub fn is_forbidden(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The first forbidden character of `s`, if any.
pub fn forbidden_char(s: &str) -> Option<char> {
    s.chars().find(|&c| is_forbidden(c))
}

/// The message of a field that holds `c`.
pub fn forbidden_message(c: char) -> String {
    format!(
        "must not contain control or bidirectional-control characters (found U+{:04X})",
        c as u32
    )
}

/// Adds an error for `field` when `value` holds a forbidden character.
pub fn check(field: &str, value: &str, errors: &mut Vec<FieldError>) {
    if let Some(c) = forbidden_char(value)
        && errors.len() < MAX_ERRORS
    {
        errors.push(FieldError::new(field, forbidden_message(c)));
    }
}

/// Checks every string of a JSON document and every object key, known fields or not. Fields are
/// named by their path: `city`, `emailAddresses[1]`, `numbers[3].areaCode`, `[0].description`
/// (in a top-level array); a key that holds such a character is reported at its object.
pub fn check_json(value: &serde_json::Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    walk(value, &mut String::new(), &mut errors);
    errors
}

fn walk(value: &serde_json::Value, path: &mut String, errors: &mut Vec<FieldError>) {
    use serde_json::Value;
    if errors.len() >= MAX_ERRORS {
        return;
    }
    let here = |path: &str| {
        if path.is_empty() {
            "body".to_string()
        } else {
            path.to_string()
        }
    };
    match value {
        Value::String(s) => check(&here(path), s, errors),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(item, path, errors);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                if let Some(c) = forbidden_char(key) {
                    if errors.len() < MAX_ERRORS {
                        errors.push(FieldError::new(
                            here(path),
                            format!("a field name {}", forbidden_message(c)),
                        ));
                    }
                    continue;
                }
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                walk(item, path, errors);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Why an e-mail address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("must be at most 254 characters")]
    TooLong,
    #[error("must be a plain address local@domain, without a name or angle brackets")]
    NotPlain,
    #[error(
        "the part before @ must be letters, digits and !#$%&'*+-/=?^_`{{|}}~ in dot-separated words (no quotes, at most 64 characters)"
    )]
    LocalPart,
    #[error("the domain must be a name, not an IP address")]
    IpDomain,
    #[error("the domain is not a valid domain name with a dot")]
    Domain,
    #[error("the mail transport does not accept it")]
    Mailer,
}

/// A customer's e-mail address as the mailer sends to it: plain `local@domain` (at most 254
/// characters), the local part a dot-atom of ASCII characters (no quotes, no spaces), the domain
/// a name with at least one dot (no IP address, bracketed or not) whose internationalised labels
/// are turned into their ASCII (`xn--`) form, so the message goes out without needing the SMTP
/// server's UTF-8 extension. The result is also accepted by the mailer's own parser; anything
/// else is an error.
pub fn mail_address(s: &str) -> Result<lettre::Address, EmailError> {
    if s.chars().count() > 254 {
        return Err(EmailError::TooLong);
    }
    if s.chars()
        .any(|c| c.is_whitespace() || is_forbidden(c) || matches!(c, '<' | '>' | '"' | ',' | ';'))
    {
        return Err(EmailError::NotPlain);
    }
    let (local, domain) = s.rsplit_once('@').ok_or(EmailError::NotPlain)?;
    if !is_dot_atom(local) {
        return Err(EmailError::LocalPart);
    }
    if domain.starts_with('[') || domain.parse::<IpAddr>().is_ok() {
        return Err(EmailError::IpDomain);
    }
    let ascii = match url::Host::parse(domain) {
        Ok(url::Host::Domain(d)) => d,
        Ok(_) => return Err(EmailError::IpDomain),
        Err(_) => return Err(EmailError::Domain),
    };
    if !is_host_name(&ascii) {
        return Err(EmailError::Domain);
    }
    // The mailer's parser must accept both the address as given and the form it sends.
    s.parse::<lettre::Address>()
        .map_err(|_| EmailError::Mailer)?;
    lettre::Address::new(local, &ascii).map_err(|_| EmailError::Mailer)
}

/// RFC 5322 dot-atom of ASCII `atext`, at most 64 characters (RFC 5321).
fn is_dot_atom(local: &str) -> bool {
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    !local.is_empty()
        && local.len() <= 64
        && local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(atext))
}

/// An ASCII host name with at least two labels: letters, digits and inner hyphens, labels of
/// 1..63 characters, 253 in all, and a last label that is not all digits.
fn is_host_name(name: &str) -> bool {
    let labels: Vec<&str> = name.split('.').collect();
    name.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
        && labels
            .last()
            .is_some_and(|tld| !tld.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_forbidden() {
        for c in [
            '\0', '\t', '\n', '\r', '\u{1b}', '\u{1f}', '\u{7f}', '\u{85}', '\u{9f}', '\u{202a}',
            '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}', '\u{2068}',
            '\u{2069}',
        ] {
            assert!(is_forbidden(c), "U+{:04X}", c as u32);
        }
        for c in [
            ' ', 'a', 'é', '\u{a0}', '\u{200e}', '\u{2029}', '\u{2065}', '\u{206a}', '€', '😀',
        ] {
            assert!(!is_forbidden(c), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn json_errors_name_the_path() {
        let v = serde_json::json!({
            "city": "Amster\ndam",
            "ok": "fine",
            "emailAddresses": ["a@b.nl", "x\u{202e}@evil.com"],
            "numbers": [{"areaCode": "20"}, {"region": "\u{0}"}],
            "requiredFields": {"bad\rkey": "v"},
            "n": 5
        });
        let fields: Vec<String> = check_json(&v).into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "city",
                "emailAddresses[1]",
                "numbers[1].region",
                "requiredFields"
            ]
        );
        let top = serde_json::json!([{"description": "a\u{2066}b"}]);
        assert_eq!(check_json(&top)[0].field, "[0].description");
        assert!(check_json(&serde_json::json!({"a": "plain text – with ümlauts"})).is_empty());
    }

    #[test]
    fn plain_addresses_pass_and_idn_domains_go_out_in_ascii() {
        for ok in [
            "a@b.nl",
            "first.last+tag@sub.example.com",
            "o'neil@example.ie",
            "x!#$%&'*+-/=?^_`{|}~@example.org",
            "ops@xn--bcher-kva.de",
        ] {
            assert_eq!(mail_address(ok).unwrap().to_string(), ok);
        }
        assert_eq!(
            mail_address("info@bücher.de").unwrap().to_string(),
            "info@xn--bcher-kva.de"
        );
        assert_eq!(
            mail_address("info@BÜCHER.de").unwrap().to_string(),
            "info@xn--bcher-kva.de"
        );
        assert_eq!(
            mail_address("info@例え.jp").unwrap().domain(),
            "xn--r8jz45g.jp"
        );
    }

    #[test]
    fn every_refused_form() {
        let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(186));
        assert_eq!(long.len(), 255);
        for (bad, why) in [
            ("\"a b\"@c.com", EmailError::NotPlain),
            ("\"ab\"@c.com", EmailError::NotPlain),
            ("Name <a@b.com>", EmailError::NotPlain),
            ("<a@b.com>", EmailError::NotPlain),
            ("a@b.com, c@d.com", EmailError::NotPlain),
            ("a b@c.com", EmailError::NotPlain),
            ("a@b.com\r\nBcc: x@y.com", EmailError::NotPlain),
            ("a@b.com\u{202e}", EmailError::NotPlain),
            ("plain", EmailError::NotPlain),
            ("a@[127.0.0.1]", EmailError::IpDomain),
            ("a@[IPv6:::1]", EmailError::IpDomain),
            ("a@127.0.0.1", EmailError::IpDomain),
            ("a@::1", EmailError::IpDomain),
            ("@b.com", EmailError::LocalPart),
            (".a@b.com", EmailError::LocalPart),
            ("a.@b.com", EmailError::LocalPart),
            ("a..b@c.com", EmailError::LocalPart),
            ("a@b@c.com", EmailError::LocalPart),
            ("jörg@b.com", EmailError::LocalPart),
            ("a(comment)@b.com", EmailError::LocalPart),
            ("a@localhost", EmailError::Domain),
            ("a@", EmailError::Domain),
            ("a@-b.com", EmailError::Domain),
            ("a@b-.com", EmailError::Domain),
            ("a@b..com", EmailError::Domain),
            ("a@b_c.com", EmailError::Domain),
            ("a@1.2.3.4.5", EmailError::Domain),
            ("a@b.com.", EmailError::Domain),
        ] {
            assert_eq!(mail_address(bad).err(), Some(why), "{bad}");
        }
        assert_eq!(mail_address(&long).err(), Some(EmailError::TooLong));
        let at_limit = format!("{}@{}.com", "a".repeat(64), "b".repeat(185));
        assert!(
            mail_address(&at_limit).is_err(),
            "labels over 63 characters"
        );
        let labels = format!(
            "{}@{}.{}.{}.com",
            "a".repeat(64),
            "b".repeat(60),
            "c".repeat(60),
            "d".repeat(60)
        );
        assert!(labels.len() <= 254);
        assert!(mail_address(&labels).is_ok(), "{labels}");
    }
}
