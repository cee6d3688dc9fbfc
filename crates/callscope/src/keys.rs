//! `callscope keys`: key management from the machine the store lives on.

use crate::cli::{KeysAction, KeysArgs};
use callscope_query::Limits;
use callscope_store::IndexMode;
use callscope_store::Store;

pub async fn run(args: KeysArgs) -> anyhow::Result<()> {
    let store = args.store.open(IndexMode::Off, Limits::default())?;
    match args.action {
        KeysAction::Create { org, scopes, name } => {
            let key = store.create_key(&org, name.as_deref(), &scopes).await?;
            let scopes: Vec<_> = key.info.scopes.iter().map(|s| s.as_str()).collect();
            println!(
                "created key {} for organization `{}` with scopes {}; the secret is shown only \
                 this once:",
                key.info.id,
                key.info.organization_id,
                scopes.join(",")
            );
            println!("{}", key.secret);
        }
        KeysAction::List { org } => {
            let keys = store.list_keys(org.as_deref()).await?;
            println!(
                "{:<17} {:<20} {:<12} {:<18} {:<24} {:<24} NAME",
                "ID", "ORGANIZATION", "PREFIX", "SCOPES", "CREATED", "REVOKED"
            );
            for key in keys {
                let scopes: Vec<_> = key.scopes.iter().map(|s| s.as_str()).collect();
                println!(
                    "{:<17} {:<20} {:<12} {:<18} {:<24} {:<24} {}",
                    key.id,
                    key.organization_id,
                    key.prefix,
                    scopes.join(","),
                    key.created_at,
                    key.revoked_at
                        .map(|at| at.to_string())
                        .unwrap_or_else(|| "-".into()),
                    key.name.unwrap_or_default()
                );
            }
        }
        KeysAction::Revoke { key_id } => {
            if !store.revoke_key(&key_id).await? {
                anyhow::bail!("no live key with id `{key_id}`");
            }
            println!("revoked {key_id}");
        }
    }
    Ok(())
}
