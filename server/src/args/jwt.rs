//! The options of client authentication: where the JWT secret comes from
//! (`--jwt-secret-file`, the [`SECRET_ENV`] environment variable, or
//! `--jwt-secret`, which other users see in `ps`), and the rules for
//! claims (`--jwt-leeway-secs`, `--jwt-audience`, `--jwt-issuer`,
//! `--jwt-allow-no-exp`).

use std::path::Path;

use tabwire_server::{JwtConfig, DEFAULT_LEEWAY_SECS};

use super::set;

/// The environment variable that may hold the JWT secret: unlike an
/// argument, it is not shown to other users by `ps`.
pub const SECRET_ENV: &str = "TABWIRE_JWT_SECRET";

/// The options of this module that take a value.
pub const VALUED: [&str; 5] = [
    "--jwt-secret",
    "--jwt-secret-file",
    "--jwt-leeway-secs",
    "--jwt-audience",
    "--jwt-issuer",
];

/// The switch that lets tokens without `exp` in.
pub const ALLOW_NO_EXP: &str = "--jwt-allow-no-exp";

/// A secret shorter than this is easily guessed.
const MIN_SECRET_BYTES: usize = 16;

/// A leeway over an hour would hide a badly set clock rather than absorb
/// its drift.
const MAX_LEEWAY_SECS: u64 = 3600;

/// The authentication options as given, before [`JwtFlags::finish`]
/// checks that they make sense together.
#[derive(Debug, Default)]
pub struct JwtFlags {
    secret: Option<Vec<u8>>,
    secret_file: Option<Vec<u8>>,
    leeway_secs: Option<u64>,
    pub allow_no_exp: bool,
    audience: Option<String>,
    issuer: Option<String>,
}

impl JwtFlags {
    /// Takes the option `name` (one of [`VALUED`]) with its value.
    pub fn take(&mut self, name: &str, value: String) -> Result<(), String> {
        match name {
            "--jwt-secret" => set(&mut self.secret, name, value.into_bytes()),
            "--jwt-secret-file" => set(&mut self.secret_file, name, read_secret(&value)?),
            "--jwt-leeway-secs" => set(&mut self.leeway_secs, name, parse_leeway(&value)?),
            "--jwt-audience" => set(&mut self.audience, name, non_empty(name, value)?),
            _ => set(&mut self.issuer, name, non_empty(name, value)?),
        }
    }

    /// The authentication the server asks for: none without a secret;
    /// with one from exactly one source, of at least 16 bytes, and the
    /// rules given. `secret_env` is the value of [`SECRET_ENV`], if set
    /// (set but empty counts, and is refused as too short: a variable
    /// meant to hold the secret must not quietly turn authentication off).
    pub fn finish(self, secret_env: Option<Vec<u8>>) -> Result<Option<JwtConfig>, String> {
        let rule = self.rule_given();
        let sources = [
            ("--jwt-secret", self.secret),
            ("--jwt-secret-file", self.secret_file),
            (SECRET_ENV, secret_env),
        ];
        let mut given = sources
            .into_iter()
            .filter_map(|(source, secret)| secret.map(|secret| (source, secret)));
        let (first, second) = (given.next(), given.next());
        if let (Some((one, _)), Some((other, _))) = (&first, &second) {
            return Err(format!(
                "the JWT secret is given by both {one} and {other}: give it one way"
            ));
        }
        let Some((source, secret)) = first else {
            return match rule {
                Some(rule) => Err(format!(
                    "{rule} needs a JWT secret (--jwt-secret-file, {SECRET_ENV} or --jwt-secret)"
                )),
                None => Ok(None),
            };
        };
        if secret.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "{source}: the secret must be at least {MIN_SECRET_BYTES} bytes"
            ));
        }
        Ok(Some(JwtConfig {
            secret,
            leeway_secs: self.leeway_secs.unwrap_or(DEFAULT_LEEWAY_SECS),
            allow_no_exp: self.allow_no_exp,
            audience: self.audience,
            issuer: self.issuer,
        }))
    }

    /// A rule option given, which means nothing without a secret.
    fn rule_given(&self) -> Option<&'static str> {
        [
            (self.leeway_secs.is_some(), "--jwt-leeway-secs"),
            (self.audience.is_some(), "--jwt-audience"),
            (self.issuer.is_some(), "--jwt-issuer"),
            (self.allow_no_exp, ALLOW_NO_EXP),
        ]
        .into_iter()
        .find_map(|(given, name)| given.then_some(name))
    }
}

/// The secret in the file at `path`, without the line endings an editor
/// or `echo` leaves at its end.
fn read_secret(path: &str) -> Result<Vec<u8>, String> {
    if path.is_empty() {
        return Err("--jwt-secret-file: empty file name".to_owned());
    }
    let mut secret = std::fs::read(Path::new(path))
        .map_err(|error| format!("--jwt-secret-file: cannot read {path:?}: {error}"))?;
    while matches!(secret.last(), Some(b'\n' | b'\r')) {
        secret.pop();
    }
    Ok(secret)
}

fn parse_leeway(value: &str) -> Result<u64, String> {
    match value.parse::<u64>() {
        Ok(secs) if secs <= MAX_LEEWAY_SECS => Ok(secs),
        _ => Err(format!(
            "--jwt-leeway-secs: not a whole number of seconds from 0 to {MAX_LEEWAY_SECS}: {value:?}"
        )),
    }
}

fn non_empty(name: &str, value: String) -> Result<String, String> {
    if value.is_empty() {
        return Err(format!("{name}: empty"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef";

    fn finish(options: &[(&str, &str)], env: Option<&str>) -> Result<Option<JwtConfig>, String> {
        let mut flags = JwtFlags::default();
        for (name, value) in options {
            flags.take(name, value.to_string())?;
        }
        flags.finish(env.map(|env| env.as_bytes().to_vec()))
    }

    /// A file holding `contents`, removed when dropped.
    struct SecretFile(std::path::PathBuf);

    impl SecretFile {
        fn new(name: &str, contents: &str) -> Self {
            let path = std::env::temp_dir().join(format!("tabwire-{}-{name}", std::process::id()));
            std::fs::write(&path, contents).expect("write the secret file");
            SecretFile(path)
        }

        fn path(&self) -> &str {
            self.0.to_str().expect("a UTF-8 temporary path")
        }
    }

    impl Drop for SecretFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn no_secret_no_authentication() {
        assert_eq!(finish(&[], None), Ok(None));
    }

    #[test]
    fn the_secret_from_each_source_with_the_defaults() {
        let expected = Ok(Some(JwtConfig::new(SECRET)));
        assert_eq!(finish(&[("--jwt-secret", SECRET)], None), expected);
        assert_eq!(finish(&[], Some(SECRET)), expected);
        let file = SecretFile::new("lf", &format!("{SECRET}\r\n\n"));
        assert_eq!(
            finish(&[("--jwt-secret-file", file.path())], None),
            expected
        );
        assert_eq!(expected.map(|c| c.map(|c| c.leeway_secs)), Ok(Some(30)));
    }

    #[test]
    fn exactly_one_source() {
        let file = SecretFile::new("two", SECRET);
        for (options, env) in [
            (vec![("--jwt-secret", SECRET)], Some(SECRET)),
            (vec![("--jwt-secret-file", file.path())], Some(SECRET)),
            (
                vec![("--jwt-secret", SECRET), ("--jwt-secret-file", file.path())],
                None,
            ),
        ] {
            let error = finish(&options, env).expect_err("two sources");
            assert!(error.contains("given by both"), "{error}");
        }
        let error = finish(&[("--jwt-secret", SECRET), ("--jwt-secret", SECRET)], None);
        assert!(error.expect_err("twice").contains("twice"));
    }

    #[test]
    fn the_same_length_rule_for_every_source() {
        let short = SecretFile::new("short", "fifteen bytes..\n");
        for (options, env, source) in [
            (vec![("--jwt-secret", "short")], None, "--jwt-secret"),
            (vec![], Some(""), SECRET_ENV),
            (
                vec![("--jwt-secret-file", short.path())],
                None,
                "--jwt-secret-file",
            ),
        ] {
            let error = finish(&options, env).expect_err("too short");
            assert!(
                error.starts_with(source) && error.contains("at least 16 bytes"),
                "{error}"
            );
        }
        let missing = finish(
            &[("--jwt-secret-file", "/nonexistent/tabwire-secret")],
            None,
        );
        assert!(missing.expect_err("missing").contains("cannot read"));
    }

    #[test]
    fn the_claim_rules() {
        let config = finish(
            &[
                ("--jwt-secret", SECRET),
                ("--jwt-leeway-secs", "0"),
                ("--jwt-audience", "tabwire"),
                ("--jwt-issuer", "https://auth.example"),
            ],
            None,
        );
        let expected = JwtConfig {
            leeway_secs: 0,
            audience: Some("tabwire".to_owned()),
            issuer: Some("https://auth.example".to_owned()),
            ..JwtConfig::new(SECRET)
        };
        assert_eq!(config, Ok(Some(expected)));
        for (name, value) in [
            ("--jwt-leeway-secs", "3601"),
            ("--jwt-leeway-secs", "-1"),
            ("--jwt-audience", ""),
            ("--jwt-issuer", ""),
        ] {
            let error = finish(&[(name, value)], Some(SECRET)).expect_err(value);
            assert!(error.starts_with(name), "{error}");
        }
    }

    #[test]
    fn rules_without_a_secret_are_refused() {
        let error = finish(&[("--jwt-audience", "tabwire")], None).expect_err("no secret");
        assert!(
            error.starts_with("--jwt-audience needs a JWT secret"),
            "{error}"
        );
        let flags = JwtFlags {
            allow_no_exp: true,
            ..JwtFlags::default()
        };
        let error = flags.finish(None).expect_err("no secret");
        assert!(error.starts_with(ALLOW_NO_EXP), "{error}");
    }
}
