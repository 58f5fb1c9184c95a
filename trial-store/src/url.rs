//! Storage URLs: `sqlite:PATH` (or `sqlite://PATH`, `sqlite:///abs/path`) and
//! `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE` (or `postgresql://`).
//!
//! Credentials come from the URL or the environment only
//! (`HWNAS_STORAGE_PASSWORD`, else `PGPASSWORD`; `PGUSER` for the user), and
//! every way a URL is shown ([`StorageUrl::redacted`], `Display`, errors) hides
//! the password.

use crate::error::{Result, StoreError};
use std::fmt;
use std::path::PathBuf;

/// The environment variable read for the password when the URL has none.
pub const PASSWORD_ENV: &str = "HWNAS_STORAGE_PASSWORD";

/// A parsed storage URL.
#[derive(Clone, PartialEq, Eq)]
pub enum StorageUrl {
    /// An SQLite database file (created when missing).
    Sqlite {
        /// The file.
        path: PathBuf,
    },
    /// A PostgreSQL server.
    Postgres {
        /// Role.
        user: String,
        /// Password (from the URL or the environment).
        password: Option<String>,
        /// Host name or address.
        host: String,
        /// TCP port.
        port: u16,
        /// Database.
        database: String,
    },
}

impl fmt::Debug for StorageUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StorageUrl({})", self.redacted())
    }
}

impl fmt::Display for StorageUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

fn percent_decode(s: &str, url: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                None => {
                    return Err(StoreError::Url {
                        url: url.to_string(),
                        reason: "a `%` not followed by two hexadecimal digits".into(),
                    });
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out)
        .map_err(|_| StoreError::Url { url: url.to_string(), reason: "percent-encoding that is not UTF-8".into() })
}

impl StorageUrl {
    /// Parses `text`; the password, when the URL has none, comes from `env`
    /// (called with a variable name; pass `|k| std::env::var(k).ok()`).
    pub fn parse_with_env(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let text = text.trim();
        let shown = Self::redact_text(text);
        let bad = |reason: &str| StoreError::Url { url: shown.clone(), reason: reason.to_string() };
        if let Some(rest) = text.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(bad("no database file: write sqlite:PATH, e.g. sqlite:study.db"));
            }
            return Ok(StorageUrl::Sqlite { path: PathBuf::from(path) });
        }
        let rest = text
            .strip_prefix("postgres://")
            .or_else(|| text.strip_prefix("postgresql://"))
            .ok_or_else(|| bad("unknown backend; allowed: sqlite:PATH, postgres://USER[:PASSWORD]@HOST[:PORT]/DB"))?;
        let (authority, database) = rest.split_once('/').ok_or_else(|| bad("no database: postgres://USER@HOST/DB"))?;
        let database = database.split('?').next().unwrap_or_default();
        if database.is_empty() {
            return Err(bad("no database: postgres://USER@HOST/DB"));
        }
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((user, pass)) => (percent_decode(user, &shown)?, Some(percent_decode(pass, &shown)?)),
                None => (percent_decode(u, &shown)?, None),
            },
            None => (env("PGUSER").unwrap_or_else(|| "postgres".into()), None),
        };
        let password = password.or_else(|| env(PASSWORD_ENV)).or_else(|| env("PGPASSWORD"));
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad("the port is not a number from 1 to 65535"))?),
            None => (hostport, 5432),
        };
        if host.is_empty() {
            return Err(bad("no host: postgres://USER@HOST/DB"));
        }
        Ok(StorageUrl::Postgres { user, password, host: host.to_string(), port, database: database.to_string() })
    }

    /// Parses `text`, reading a missing password from the environment.
    pub fn parse(text: &str) -> Result<Self> {
        Self::parse_with_env(text, |k| std::env::var(k).ok())
    }

    /// The password, if any (to redact it from texts the store did not write).
    pub fn password(&self) -> Option<&str> {
        match self {
            StorageUrl::Postgres { password, .. } => password.as_deref(),
            StorageUrl::Sqlite { .. } => None,
        }
    }

    /// The URL without its password.
    pub fn redacted(&self) -> String {
        match self {
            StorageUrl::Sqlite { path } => format!("sqlite:{}", path.display()),
            StorageUrl::Postgres { user, password, host, port, database } => {
                let pass = if password.is_some() { ":***" } else { "" };
                format!("postgres://{user}{pass}@{host}:{port}/{database}")
            }
        }
    }

    /// `text` (a URL as typed) with the password part replaced by `***`.
    pub fn redact_text(text: &str) -> String {
        let Some(scheme_end) = text.find("://") else { return text.to_string() };
        let after = &text[scheme_end + 3..];
        let authority_end = after.find('/').unwrap_or(after.len());
        let authority = &after[..authority_end];
        match authority.rsplit_once('@') {
            Some((userinfo, _)) if userinfo.contains(':') => {
                let user = userinfo.split(':').next().unwrap_or_default();
                format!("{}{user}:***@{}", &text[..scheme_end + 3], &after[userinfo.len() + 1..])
            }
            _ => text.to_string(),
        }
    }
}

/// Checks a study name: 1 to 64 characters from `A-Z a-z 0-9 _ . -`, starting
/// with a letter or digit.
pub fn validate_study_name(name: &str) -> Result<()> {
    let ok_start = name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    let ok_chars = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !(1..=64).contains(&name.len()) || !ok_start || !ok_chars {
        return Err(StoreError::StudyName {
            name: name.chars().take(80).collect(),
            reason: "1 to 64 characters from A-Z a-z 0-9 _ . -, starting with a letter or digit".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn urls_parse_and_never_show_the_password() {
        let u = StorageUrl::parse_with_env("postgres://hw:s3cr%40t@db.local:6543/studies", no_env).expect("parses");
        assert_eq!(
            u,
            StorageUrl::Postgres {
                user: "hw".into(),
                password: Some("s3cr@t".into()),
                host: "db.local".into(),
                port: 6543,
                database: "studies".into()
            }
        );
        for shown in [u.to_string(), format!("{u:?}"), u.redacted()] {
            assert!(!shown.contains("s3cr"), "{shown}");
        }
        assert_eq!(u.to_string(), "postgres://hw:***@db.local:6543/studies");
        assert_eq!(
            StorageUrl::redact_text("postgresql://hw:pw@h/db"),
            "postgresql://hw:***@h/db",
            "a URL as typed, redacted"
        );
        let env = |k: &str| (k == "PGPASSWORD").then(|| "fromenv".to_string());
        let u = StorageUrl::parse_with_env("postgresql://hw@localhost/db", env).expect("parses");
        assert_eq!(u.password(), Some("fromenv"));
        assert!(!u.to_string().contains("fromenv"));
        assert_eq!(
            StorageUrl::parse_with_env("sqlite:runs/s.db", no_env).expect("sqlite"),
            StorageUrl::Sqlite { path: "runs/s.db".into() }
        );
        assert_eq!(
            StorageUrl::parse_with_env("sqlite:///tmp/s.db", no_env).expect("sqlite"),
            StorageUrl::Sqlite { path: "/tmp/s.db".into() }
        );
    }

    #[test]
    fn bad_urls_and_names_say_what_is_allowed() {
        for (url, expect) in [
            ("mysql://a@b/c", "allowed: sqlite:PATH"),
            ("postgres://u:pw@host", "no database"),
            ("postgres://u:pw@host:99999/db", "port"),
            ("sqlite:", "no database file"),
        ] {
            let e = StorageUrl::parse_with_env(url, no_env).expect_err(url).to_string();
            assert!(e.contains(expect), "{url}: {e}");
            assert!(!e.contains(":pw@"), "{e}");
        }
        for bad in ["", "-x", "a b", "x;drop table studies", &"a".repeat(65)] {
            assert!(validate_study_name(bad).is_err(), "{bad}");
        }
        validate_study_name("nb201-fpga_2.v1").expect("valid");
    }
}
