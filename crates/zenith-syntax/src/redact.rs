//! Secret values in source text, found by their shape and redacted before they reach a symbol.
//!
//! A constant keeps its declaration as its signature, so `SECRET_KEY = 'django-insecure-…'`
//! would otherwise land in the `signature`, full-text and embedded columns (and, with an
//! `s3://` index, in the bucket). [`redact_secrets`] runs on every signature and doc comment
//! before anything is derived from them. The symbol itself stays (a user may search for
//! `SECRET_KEY`); only the value becomes [`REDACTED`].
//!
//! Two kinds of rules, both pure and allocation-free when nothing matches:
//! - **Credential formats** that are secret wherever they appear, after the rule set of
//!   gitleaks (`config/gitleaks.toml`, the most widely used open rule set): cloud and SaaS key
//!   prefixes (AWS, GitHub, GitLab, Slack, Stripe, Google, OpenAI, Anthropic, npm, PyPI,
//!   SendGrid, Twilio…), private-key blocks, JWTs, and passwords inside URLs.
//! - **Assigned secrets**: a string literal whose value looks random (length, character
//!   classes, Shannon entropy — gitleaks' `generic-api-key` idea) and that is assigned to, or
//!   keyed by, a name like `*key*`, `*token*`, `*secret*`, `*password*`.
//!
//! Architecture Invariant: nothing extracted from a file reaches a `Symbol` without passing
//! through here (`symbols::extract_symbols` calls it on signatures and docs before truncation,
//! so a value cannot be cut in half and escape a rule).

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;

/// What a secret value is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Credential formats recognised anywhere (gitleaks rule ids in comments).
const CREDENTIAL_FORMATS: &[&str] = &[
    // private-key
    // A header alone (a marker constant, a doc naming the format) is not a key: key material
    // must follow.
    r"-----BEGIN[A-Z0-9 ]{0,30}PRIVATE KEY(?: BLOCK)?-----[^A-Za-z0-9+/]{0,8}[A-Za-z0-9+/]{16}(?s:.*?)(?:-----END[A-Z0-9 ]{0,30}PRIVATE KEY(?: BLOCK)?-----|\z)",
    // aws-access-token
    r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b",
    // github-pat, github-oauth, github-app-token, github-refresh-token, github-fine-grained-pat
    r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b",
    r"\bgithub_pat_[A-Za-z0-9_]{50,255}\b",
    // gitlab-pat and friends
    r"\bgl(?:pat|dt|ptt|rt|cbt|soat|ft|imt|agent)-[A-Za-z0-9_\-]{20,}\b",
    // slack-bot-token, slack-user-token, slack-app-token…
    r"\bxox[abposre]-[A-Za-z0-9\-]{10,}",
    r"\bxapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+",
    // slack-webhook-url
    r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{20,}",
    // stripe-access-token
    r"\b(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{10,99}\b",
    // gcp-api-key
    r"\bAIza[0-9A-Za-z_\-]{35}\b",
    // openai-api-key, anthropic-api-key (sk-…, sk-proj-…, sk-ant-…)
    r"\bsk-(?:proj-|ant-(?:api|admin)\d{2}-|svcacct-)?[A-Za-z0-9_\-]{20,}",
    // npm-access-token
    r"\bnpm_[A-Za-z0-9]{36}\b",
    // pypi-upload-token
    r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,}",
    // sendgrid-api-token
    r"\bSG\.[A-Za-z0-9_\-]{20,24}\.[A-Za-z0-9_\-]{39,50}\b",
    // twilio-api-key
    r"\bSK[0-9a-fA-F]{32}\b",
    // huggingface-access-token
    r"\bhf_[A-Za-z]{34}\b",
    // digitalocean, doppler, shopify, linear, postman… (prefix + long random tail)
    r"\b(?:dop|doo|dor)_v1_[a-f0-9]{64}\b",
    r"\bdp\.(?:pt|st|sa|scim|ct)\.[A-Za-z0-9]{40,44}\b",
    r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b",
    r"\blin_api_[A-Za-z0-9]{40}\b",
    r"\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}\b",
    // jwt
    r"\beyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}",
];

/// Literals of which every credential format contains at least one: the format alternation
/// (captures, bounded repeats) then runs only on the texts that hold a trigger, about 1 % of the
/// signatures and docs of the cargo registry.
#[rustfmt::skip]
const FORMAT_TRIGGERS: &[&str] = &[
    "PRIVATE KEY", "AKIA", "ASIA", "ABIA", "ACCA", "A3T", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_",
    "glpat-", "gldt-", "glptt-", "glrt-", "glcbt-", "glsoat-", "glft-", "glimt-", "glagent-", "xox", "xapp-",
    "hooks.slack.com", "k_live_", "k_test_", "k_prod_", "AIza", "sk-", "npm_", "pypi-", "SG.", "SK", "hf_", "_v1_",
    "dp.", "shpat_", "shpca_", "shppa_", "shpss_", "lin_api_", "PMAK-", "eyJ",
];

/// The password of `scheme://user:password@host` (the user name is kept).
const URL_PASSWORD: &str = r#"[A-Za-z][A-Za-z0-9+.\-]{1,20}://[^\s:/@'"`]{1,64}:([^\s/@'"`]{3,128})@"#;

/// A literal is an assigned secret when the text right before it ends in a secret-like name
/// and what joins a name to its value in the twelve languages: `NAME = `, `name: &str = `,
/// `"name": `, `name => `, `('NAME', `, `#define NAME `, `name = Secret(`.
const ASSIGNED_TO_SECRET_NAME: &str = r#"(?i)[A-Za-z0-9_.\-]*(?:secret|token|passw|pwd|api_?key|apikey|access_?key|private_?key|auth_?(?:key|token|secret)|credential|salt|signing_?key|session_?key|client_?key|encryption_?key|key)[A-Za-z0-9_]*["'`]?\]?\s*(?::\s*[^=,;(){}"'`]{0,40}?)?(?:\s*(?:=|:=|=>|:|,|\(|\?\?|\|\|)\s*|\s+)(?:[A-Za-z_.]{0,24}\(\s*)?[bBrRuUfF]{0,2}$"#;

/// A string literal in any of the twelve languages' common quoting styles; an unclosed one
/// runs to the end of the text (a head cut short still hides its value).
const STRING_LITERAL: &str = r#""(?:[^"\\\n]|\\.)*(?:"|\z)|'(?:[^'\\\n]|\\.)*(?:'|\z)|`(?:[^`\\]|\\.)*(?:`|\z)"#;

struct Rules {
    triggers: Regex,
    formats: Regex,
    url_password: Regex,
    assigned: Regex,
    literal: Regex,
}

fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    let alternation = |literals: &[&str]| literals.iter().map(|t| regex::escape(t)).collect::<Vec<_>>().join("|");
    RULES.get_or_init(|| Rules {
        triggers: Regex::new(&alternation(FORMAT_TRIGGERS)).expect("format triggers compile"),
        formats: Regex::new(&CREDENTIAL_FORMATS.join("|")).expect("credential formats compile"),
        url_password: Regex::new(URL_PASSWORD).expect("URL password rule compiles"),
        assigned: Regex::new(ASSIGNED_TO_SECRET_NAME).expect("secret-name rule compiles"),
        literal: Regex::new(STRING_LITERAL).expect("string-literal rule compiles"),
    })
}

/// `text` with every secret value replaced by [`REDACTED`]; borrowed when nothing matched
/// (the common case, so extraction pays no allocation for it).
pub fn redact_secrets(text: &str) -> Cow<'_, str> {
    let mut ranges = secret_ranges(text);
    if ranges.is_empty() {
        return Cow::Borrowed(text);
    }
    ranges.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut written = 0;
    for (start, end) in ranges {
        if end <= written {
            continue;
        }
        let start = start.max(written);
        out.push_str(&text[written..start]);
        out.push_str(REDACTED);
        written = end;
    }
    out.push_str(&text[written..]);
    Cow::Owned(out)
}

/// Byte ranges of secret values in `text` (possibly overlapping, unsorted).
fn secret_ranges(text: &str) -> Vec<(usize, usize)> {
    // Every rule needs at least eight bytes; most signatures that reach here are short heads
    // without a literal, so bail out before any regex runs when no rule can apply.
    if text.len() < 8 {
        return Vec::new();
    }
    let rules = rules();
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    if has_token_run(text) && rules.triggers.is_match(text) {
        ranges.extend(rules.formats.find_iter(text).map(|found| (found.start(), found.end())));
    }
    if text.contains("://") {
        for captures in rules.url_password.captures_iter(text) {
            // `user:password@host`, `user:pass@`, `host:8080@` in docs are placeholders; a real
            // password mixes letters with digits, symbols or case.
            if let Some(password) = captures.get(1).filter(|p| mixes_character_classes(p.as_str())) {
                ranges.push((password.start(), password.end()));
            }
        }
    }
    if memchr::memchr3(b'"', b'\'', b'`', text.as_bytes()).is_some() {
        for literal in rules.literal.find_iter(text) {
            let quoted = literal.as_str();
            let inner_start = literal.start() + 1;
            let inner_end =
                if quoted.len() >= 2 && quoted.ends_with(&quoted[..1]) { literal.end() - 1 } else { literal.end() };
            if inner_end <= inner_start {
                continue;
            }
            let value = &text[inner_start..inner_end];
            if !looks_random(value) {
                continue;
            }
            // The name it is assigned to, or its key: the text just before the literal.
            let mut context_start = literal.start().saturating_sub(96);
            while !text.is_char_boundary(context_start) {
                context_start += 1;
            }
            if rules.assigned.is_match(&text[context_start..literal.start()]) {
                ranges.push((inner_start, inner_end));
            }
        }
    }
    ranges
}

/// True when `text` has 16 or more consecutive characters of the alphabet every credential
/// format is written in (letters, digits, `+/=_-`) including a digit or an upper-case letter.
/// Every format rule needs one; one pass over the bytes lets most signatures and docs skip the
/// trigger search (a measured gain of about 10 % of redaction time, within noise).
fn has_token_run(text: &str) -> bool {
    let (mut length, mut marked) = (0usize, false);
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'/' | b'=' | b'_' | b'-') {
            length += 1;
            marked |= byte.is_ascii_digit() || byte.is_ascii_uppercase();
            if length >= 16 && marked {
                return true;
            }
        } else {
            length = 0;
            marked = false;
        }
    }
    false
}

/// A value that looks machine-generated rather than written: long enough, no spaces, no
/// template or pattern syntax, not a run of words (`password_hash`, `KEY_ALGORITHM_RSA_2048`,
/// `X-Api-Key`), mixed character classes and high Shannon entropy (gitleaks' generic rule uses
/// the same 3.5 bits per character).
fn looks_random(value: &str) -> bool {
    let length = value.chars().count();
    if !(10..=1024).contains(&length) {
        return false;
    }
    if value.chars().any(|c| c.is_whitespace() || matches!(c, '\\' | '[' | ']' | '{' | '}' | '<' | '>' | '|' | '~'))
        || value.contains("://")
        || value.contains("%(")
        || value.contains("%s")
        || ["abcdef", "ABCDEF", "0123456", "qwerty"].iter().any(|run| value.contains(run))
    {
        return false;
    }
    if is_word_run(value) {
        return false;
    }
    let has_digit = value.bytes().any(|b| b.is_ascii_digit());
    let has_lower = value.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = value.bytes().any(|b| b.is_ascii_uppercase());
    if !(has_lower || has_upper) {
        // Digits and punctuation only: numbers, dates, version strings.
        return false;
    }
    let entropy = shannon_entropy(value);
    if has_digit { entropy >= 3.5 } else { length >= 20 && has_lower && has_upper && entropy >= 4.0 }
}

/// Words joined by `_`, `-`, `.`, `/` or `:`, each all letters, all digits, or letters with a
/// short number at the end (`oauth2`, `MD5`, `sha256`): an identifier, a path, a constant's
/// name, a header — something written, not generated.
fn is_word_run(value: &str) -> bool {
    value.split(['_', '-', '.', '/', ':']).all(|segment| {
        let letters = segment.bytes().take_while(u8::is_ascii_alphabetic).count();
        let digits = &segment.as_bytes()[letters..];
        digits.iter().all(u8::is_ascii_digit) && (letters == 0 || digits.len() <= 3)
    })
}

/// Letters together with digits, symbols or both cases (a password rather than a placeholder).
fn mixes_character_classes(value: &str) -> bool {
    let letters = value.bytes().filter(|b| b.is_ascii_alphabetic()).count();
    let has_lower = value.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = value.bytes().any(|b| b.is_ascii_uppercase());
    letters > 0 && (letters < value.len() || (has_lower && has_upper))
}

/// Bits per character of `value`'s character distribution.
fn shannon_entropy(value: &str) -> f64 {
    let mut counts = [0u32; 256];
    let mut total = 0u32;
    for byte in value.bytes() {
        counts[byte as usize] += 1;
        total += 1;
    }
    let total = f64::from(total);
    counts
        .iter()
        .filter(|&&count| count > 0)
        .map(|&count| {
            let p = f64::from(count) / total;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Canaries of each kind (fake values in the real formats; none of them is a live key).
    pub const CANARIES: &[(&str, &str)] = &[
        ("aws", "AKIAZ7QW3RT5YU2IOP4A"),
        ("github", "ghp_Zq8Yt4Wm2Vn6Lr0Ks3Jd7Hf1Gc5Bx9Pa2Ue4"),
        ("slack", "xoxb-2048-4096-zQ8yT4wM2vN6lR0k"),
        ("stripe", "sk_live_51Hq8Yt4Wm2Vn6Lr0Ks3Jd7Hf"),
        ("google", "AIzaSyD4q8Yt4Wm2Vn6Lr0Ks3Jd7Hf1Gc5Bx9Pa"),
        ("jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ6ZW5pdGgiLCJuIjoxfQ.c2lnbmF0dXJlLXZhbHVlLWZha2U"),
        ("django", "django-insecure-q8$t4w^m2vn6lr0k#s3jd7hf1gc5bx9pa2ue4"),
        ("generic", "Zq8Yt4Wm2Vn6Lr0Ks3Jd"),
    ];

    #[test]
    fn credential_formats_are_redacted_anywhere() {
        for (kind, canary) in CANARIES.iter().take(6) {
            let text = format!("see {canary} here");
            let redacted = redact_secrets(&text);
            assert!(!redacted.contains(canary), "{kind}: {redacted}");
            assert!(redacted.contains(REDACTED), "{kind}: {redacted}");
        }
    }

    #[test]
    fn assigned_random_values_are_redacted_in_many_languages() {
        for head in [
            "SECRET_KEY = 'django-insecure-q8$t4w^m2vn6lr0k#s3jd7hf1gc5bx9pa2ue4'",
            "export const API_TOKEN = \"Zq8Yt4Wm2Vn6Lr0Ks3Jd\"",
            "pub const DB_PASSWORD: &str = \"Zq8Yt4Wm2Vn6Lr0Ks3Jd\"",
            "private static final String apiKey = \"Zq8Yt4Wm2Vn6Lr0Ks3Jd\"",
            "const authToken = `Zq8Yt4Wm2Vn6Lr0Ks3Jd`",
            "define('AUTH_SALT', 'Zq8Yt4Wm2Vn6Lr0Ks3Jd')",
            "#define CLIENT_SECRET \"Zq8Yt4Wm2Vn6Lr0Ks3Jd\"",
            "config = {\"api_key\": \"Zq8Yt4Wm2Vn6Lr0Ks3Jd\"}",
        ] {
            let redacted = redact_secrets(head);
            assert!(!redacted.contains("Zq8Yt4Wm2Vn6Lr0Ks3Jd") && !redacted.contains("q8$t4w"), "{redacted}");
            assert!(redacted.contains(REDACTED), "{head}");
        }
    }

    #[test]
    fn the_symbol_name_and_the_rest_of_the_head_stay() {
        assert_eq!(
            redact_secrets("pub const API_TOKEN: &str = \"Zq8Yt4Wm2Vn6Lr0Ks3Jd\""),
            "pub const API_TOKEN: &str = \"[REDACTED]\""
        );
        assert_eq!(
            redact_secrets("DATABASE_URL = 'postgres://app:Zq8Yt4Wm@db.internal:5432/app'"),
            "DATABASE_URL = 'postgres://app:[REDACTED]@db.internal:5432/app'"
        );
    }

    #[test]
    fn ordinary_code_is_left_alone() {
        for head in [
            "def token_urlsafe(nbytes=None)",
            "PASSWORD_FIELD = 'password_hash'",
            "HEADER_KEY = 'X-Api-Key'",
            "TOKEN_PATTERN = r'[A-Za-z_]+'",
            "const AUTHOR = \"Guido van Rossum\"",
            "API_KEY_ENV = 'MY_SERVICE_API_KEY'",
            "KEY_FORMAT = '{prefix}-{id}'",
            "api_key = os.environ['API_KEY']",
            "SECRET_KEY = '${SECRET_KEY}'",
            "VERSION = '1.2.3'",
            "static KEYWORDS: &[&str] = &[\"fn\", \"let\"]",
            "fn skey(&self) -> &'static str",
            "pub fn with_key<'a>(key: &'a str) -> Self",
            "CRT_AUTH_TYPE_MAPS = { 'v4': CrtSigV4Auth, 'v4-query': CrtSigV4QueryAuth }",
            "key_algorithm: str = 'KEY_ALGORITHM_RSA_2048'",
            "SALT_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'",
            "TOKEN: Final = r\"[-!#-'*+.0-9A-Z^-z|~]+\"",
            "_SK_START = b\"-----BEGIN OPENSSH PRIVATE KEY-----\"",
            "e.g. `https://user:pass@host:port/path`, `http://samuel:pass@example.com:8000`",
            "See :class:`werkzeug.test.EnvironBuilder` for the key arguments",
            "const DEFAULT_TOKEN_GCP_URI: &str = \"https://oauth2.googleapis.com/token\"",
            "pub const X_AMZ_CUSTOMER_KEY_MD5: &str = \"x-amz-server-side-encryption-customer-key-MD5\"",
        ] {
            assert_eq!(redact_secrets(head), head, "{head}");
        }
    }

    #[test]
    fn an_unterminated_or_multi_line_key_block_is_cut_from_its_start() {
        let head = "PRIVATE = \"-----BEGIN RSA PRIVATE KEY-----\\nMIIEpAIBAAKCAQEA0q8Yt4Wm2Vn6Lr0Ks3Jd7Hf1Gc5";
        let redacted = redact_secrets(head);
        assert!(!redacted.contains("MIIEpAIBAAKCAQEA"), "{redacted}");
        let doc = "Example:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\nmore";
        let redacted = redact_secrets(doc);
        assert_eq!(redacted, "Example:\n[REDACTED]\nmore");
    }

    #[test]
    fn extraction_redacts_before_the_full_text_and_embedding_texts_are_built() {
        let source = "SECRET_KEY = 'django-insecure-q8$t4w^m2vn6lr0k#s3jd7hf1gc5bx9pa2ue4'\n\
                      def sign(data):\n    \"\"\"Signs with AKIAZ7QW3RT5YU2IOP4A.\"\"\"\n";
        let parsed =
            crate::parse::parse(std::path::Path::new("settings.py"), source.as_bytes(), &Default::default()).unwrap();
        let symbols = crate::symbols::extract_symbols("settings.py", &parsed, "h", 0).symbols;
        assert_eq!(symbols.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["SECRET_KEY", "sign"]);
        for symbol in &symbols {
            let texts = [
                symbol.signature.clone(),
                symbol.doc.clone().unwrap_or_default(),
                symbol.search_text.clone(),
                crate::symbols::embedding_text(symbol),
            ];
            for text in texts {
                assert!(!text.contains("s3jd7hf1gc5bx9") && !text.contains("AKIAZ7QW3RT5YU2IOP4A"), "{text}");
            }
        }
        assert!(symbols[0].search_text.contains("SECRET_KEY"), "the name stays searchable");
    }

    #[test]
    fn text_is_borrowed_when_clean() {
        assert!(matches!(redact_secrets("fn main()"), Cow::Borrowed(_)));
        assert!(matches!(redact_secrets("let x = \"hello world\""), Cow::Borrowed(_)));
    }
}
