//! The optional TOML config file (`--config FILE`, `CALLSCOPE_CONFIG`): the same options as
//! the flags, under the flags' names with underscores (`max_buckets = 10000`,
//! `webhook_allow_cidr = ["10.0.0.0/8"]`), with precedence file < environment < flags.
//!
//! The file feeds the one options struct, `cli::Cli`, rather than a second copy of it: each
//! key becomes the default value of its flag, which clap then parses with the flag's own
//! value parser, so a value is checked exactly as on the command line, and an environment
//! variable or a flag still wins over it. (A serde struct beside the clap one would have to
//! repeat every option, since serde's `deny_unknown_fields` cannot be combined with the
//! `flatten` the shared option groups need.) A key that is no flag of `callscope serve` is
//! refused with its name; keys of options another command lacks (`listen` for `keys`) are
//! left to the commands that have them, so one file serves them all.

use crate::cli::Cli;
use anyhow::{Context, bail};
use clap::{Arg, ArgAction, ArgMatches, Command, CommandFactory, FromArgMatches};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The options of this run: the command line, over the environment, over the config file.
pub fn parse() -> anyhow::Result<Cli> {
    parse_from(std::env::args_os().collect())
}

fn parse_from(args: Vec<OsString>) -> anyhow::Result<Cli> {
    let first = Cli::command().get_matches_from(args.clone());
    let Some(file) = config_file(&first) else {
        return Ok(Cli::from_arg_matches(&first)?);
    };
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read the config file {}", file.display()))?;
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("{} is not TOML", file.display()))?;
    let defaults = defaults_of(&table, &file)?;
    let mut built = Cli::command();
    built.build();
    let serve = built
        .find_subcommand("serve")
        .cloned()
        .context("the serve command is missing")?;
    for (key, values) in &defaults {
        let Some(arg) = serve
            .get_arguments()
            .find(|arg| arg.get_id() == key.as_str())
        else {
            bail!(
                "config file {}: unknown key `{key}`; keys are the long flags of \
                 `callscope serve` written with underscores (see `callscope serve --help`)",
                file.display()
            );
        };
        for value in values {
            check(arg, value)
                .map_err(|why| anyhow::anyhow!("config file {}: `{key}`: {why}", file.display()))?;
        }
    }
    let Some(name) = first.subcommand_name().map(str::to_owned) else {
        return Ok(Cli::from_arg_matches(&first)?);
    };
    let mut command = Cli::command();
    for (key, values) in defaults {
        let has = |command: &Command| {
            command
                .get_arguments()
                .any(|arg| arg.get_id() == key.as_str())
        };
        if has(&command) {
            // An option of every command (`log_format`).
            command = command.mut_arg(key.as_str(), |arg| arg.default_values(values));
        } else if command.find_subcommand(&name).is_some_and(has) {
            command = command.mut_subcommand(&name, |sub| {
                sub.mut_arg(key.as_str(), |arg| arg.default_values(values))
            });
        }
    }
    let matches = command.get_matches_from(args);
    Ok(Cli::from_arg_matches(&matches)?)
}

/// Parses `value` as the flag `arg` would on the command line, so the refusal can name the
/// file's key rather than a flag the user never typed.
fn check(arg: &Arg, value: &str) -> Result<(), String> {
    if matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::SetFalse) {
        return match value {
            "true" | "false" => Ok(()),
            other => Err(format!("expected true or false, got `{other}`")),
        };
    }
    let alone = arg
        .clone()
        .env(None)
        .default_value(None::<&str>)
        .required(false)
        .global(false);
    let long = alone.get_long().unwrap_or_default().to_owned();
    Command::new("config")
        .no_binary_name(true)
        .arg(alone)
        .try_get_matches_from([format!("--{long}"), value.to_owned()])
        .map(drop)
        .map_err(|error| {
            let text = error.to_string();
            let first = text.lines().next().unwrap_or_default();
            first.trim_start_matches("error: ").trim().to_owned()
        })
}

/// The `--config` of the subcommand being run, if any.
fn config_file(matches: &ArgMatches) -> Option<PathBuf> {
    let (_, sub) = matches.subcommand()?;
    sub.try_get_one::<PathBuf>("config").ok().flatten().cloned()
}

/// Each key of the file with its value as the text clap would read on the command line.
fn defaults_of(table: &toml::Table, file: &Path) -> anyhow::Result<Vec<(String, Vec<String>)>> {
    let text = |key: &str, value: &toml::Value| -> anyhow::Result<String> {
        Ok(match value {
            toml::Value::String(text) => text.clone(),
            toml::Value::Integer(number) => number.to_string(),
            toml::Value::Float(number) => number.to_string(),
            toml::Value::Boolean(flag) => flag.to_string(),
            other => bail!(
                "config file {}: `{key}` must be a string, a number or a boolean, not {}",
                file.display(),
                other.type_str()
            ),
        })
    };
    table
        .iter()
        .map(|(key, value)| {
            if key == "config" {
                bail!(
                    "config file {}: `config` cannot name another file",
                    file.display()
                );
            }
            let values = match value {
                toml::Value::Array(items) => items
                    .iter()
                    .map(|item| text(key, item))
                    .collect::<anyhow::Result<_>>()?,
                single => vec![text(key, single)?],
            };
            Ok((key.clone(), values))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Command;

    fn args(extra: &[&str]) -> Vec<OsString> {
        ["callscope"]
            .iter()
            .chain(extra)
            .map(OsString::from)
            .collect()
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().expect("a temporary file");
        std::fs::write(file.path(), text).expect("written");
        file
    }

    fn serve_args(cli: Cli) -> crate::cli::ServeArgs {
        match cli.command {
            Command::Serve(args) => *args,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_file_sets_what_flags_leave_and_flags_win() {
        let config = file(
            "listen = \"127.0.0.1:9999\"\nmax_buckets = 1234\ndemo = true\n\
             webhook_allow_cidr = [\"10.0.0.0/8\", \"::1\"]\n",
        );
        let path = config.path().to_str().expect("utf-8");
        let serve = serve_args(
            parse_from(args(&["serve", "--config", path, "--max-buckets", "99"])).expect("parsed"),
        );
        assert_eq!(serve.listen.to_string(), "127.0.0.1:9999");
        assert_eq!(serve.limits.max_buckets, 99, "the flag wins");
        assert!(serve.demo);
        assert_eq!(serve.webhook_allow_cidr.len(), 2);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_by_name() {
        let config = file("listen = \"127.0.0.1:1\"\nmax_bucket = 10\n");
        let path = config.path().to_str().expect("utf-8");
        let error = parse_from(args(&["serve", "--config", path]))
            .expect_err("an unknown key")
            .to_string();
        assert!(error.contains("unknown key `max_bucket`"), "{error}");

        let config = file("webhook_max_attempts = 0\n");
        let path = config.path().to_str().expect("utf-8");
        let error = parse_from(args(&["serve", "--config", path]))
            .expect_err("out of range")
            .to_string();
        assert!(error.contains("`webhook_max_attempts`"), "{error}");

        let config = file("[limits]\nmax_buckets = 1\n");
        let path = config.path().to_str().expect("utf-8");
        let error = parse_from(args(&["serve", "--config", path]))
            .expect_err("a table")
            .to_string();
        assert!(
            error.contains("`limits`") && error.contains("table"),
            "{error}"
        );
    }
}
