//! What the vault does with its database, on whichever backend the suite runs (SQLite, or
//! PostgreSQL with `VAULTQL_TEST_DATABASE_URL`): it says plainly when it cannot reach it or
//! when a newer vaultql moved its schema on, and `/readyz` reports it; a rotated data key seals
//! new cards while old ones still open. On PostgreSQL, no full card number reaches the server's
//! tables, dump or files.

use std::path::Path;

use memchr::memmem;
use serde_json::json;
use vaultql::app::Application;
use vaultql::qualpay::{AddBillingCardRequest, AddCustomerRequest};
use vaultql::secret::Secret;
use vaultql::vault::crypto::{KeyPurpose, MasterKey, new_wrapped_key};
use vaultql::vault::service::VaultService;

use crate::billing_support::shared_data_dir;
use crate::database::{RawPool, data_dir_url, postgres};
use crate::helpers::{MERCHANT_A, TestApp, default_args, test_now};
use crate::testdata::{MASTERCARD, VISA, card, luhn_complete, masked};

/// The error `vaultql sandbox` stops with for these arguments.
async fn start_error(data_dir: &Path, database_url: Option<String>) -> String {
    let mut args = default_args(data_dir);
    args.vault.database_url = database_url;
    // An unreachable server is retried until this runs out.
    args.vault.database_acquire_timeout_secs = 1;
    match Application::build_sandbox(args).await {
        Ok(_) => panic!("the vault started"),
        Err(error) => format!("{error:#}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_postgresql_is_a_clear_error_that_never_shows_the_password() {
    // Runs without a PostgreSQL server: nothing listens on port 1.
    let dir = shared_data_dir();
    let url = "postgres://vault:s3cret-Passw0rd@127.0.0.1:1/vault";
    let error = start_error(dir.path(), Some(url.into())).await;
    assert!(
        error.contains("could not connect to PostgreSQL at 127.0.0.1:1/vault"),
        "{error}"
    );
    assert!(!error.contains("s3cret-Passw0rd"), "{error}");

    let error = start_error(dir.path(), Some("postgres://vault:s3cret@[::1".into())).await;
    assert!(error.contains("the database URL is not valid"), "{error}");
    assert!(!error.contains("s3cret"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_schema_a_newer_vaultql_moved_on_is_refused_not_run_against() {
    let dir = shared_data_dir();
    let mut args = default_args(dir.path());
    args.vault.database_url = data_dir_url(dir.path());
    drop(
        Application::build_sandbox(args)
            .await
            .expect("the vault starts on a new database"),
    );
    let pool = RawPool::of(dir.path()).await;
    // A migration this binary does not have, as a newer vaultql would have recorded it.
    let checksum = match pool {
        RawPool::Sqlite(_) => "X'00'",
        RawPool::Postgres(_) => "'\\x00'::bytea",
    };
    pool.execute(&format!(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99999, 'from a newer vaultql', TRUE, {checksum}, 0)"
    ))
    .await;
    pool.close().await;

    let error = start_error(dir.path(), data_dir_url(dir.path())).await;
    assert!(
        error.contains("the database's schema is newer than this vaultql")
            && error.contains("migration 99999"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_reports_the_database() {
    let app = TestApp::spawn().await;
    let url = app.base_url.replace("/platform", "/readyz");
    let response = app.client.get(&url).send().await.expect("readyz answers");
    assert_eq!(response.status(), 200);
    let backend = if postgres().is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    let text = response.text().await.expect("a body");
    assert_eq!(text, format!("ready\ndatabase ({backend}): ok"));
}

/// PostgreSQL only: SQLite's counterpart, which reads the database file, is
/// `security::no_full_card_or_account_number_is_written_to_the_data_directory`.
#[tokio::test(flavor = "multi_thread")]
async fn no_full_card_number_reaches_postgresql_its_dump_or_its_files() {
    let Some(url) = postgres() else {
        return;
    };
    let app = TestApp::spawn_with_file_db().await;
    app.create_customer("PgDisk01").await;
    // Numbers no other test uses, so a find in the server's shared files is this test's.
    let numbers: Vec<String> = (0..4)
        .map(|n| luhn_complete(&format!("4000777{n:02}000123")))
        .collect();
    for number in &numbers {
        app.add_card_ok("PgDisk01", &card(number)).await;
    }
    let update = json!({ "customer_first_name": "Disk", "billing_cards": [
        { "card_number": luhn_complete("400077799000123"), "exp_date": "1230", "cvv2": "321",
          "billing_zip": "94402" }
    ]});
    let mut numbers = numbers;
    numbers.push(luhn_complete("400077799000123"));
    app.put("/vault/customer/PgDisk01", &update)
        .await
        .assert_ok();
    let stored = app.customer_data("PgDisk01").await;
    for number in &numbers {
        assert!(
            stored.to_string().contains(&masked(number)),
            "the card {} was stored",
            masked(number)
        );
    }

    // The schema's dump, as a backup would hold it.
    let schema = data_dir_url(&app.data_dir)
        .and_then(|u| u.rsplit('=').next().map(str::to_owned))
        .expect("the data dir's schema");
    let bin = std::env::var("VAULTQL_TEST_POSTGRES_BIN").unwrap_or_default();
    let pg_dump = Path::new(&bin).join("pg_dump");
    let dump = std::process::Command::new(if bin.is_empty() {
        Path::new("pg_dump")
    } else {
        &pg_dump
    })
    .args(["--schema", &schema, "--data-only", url])
    .output()
    .expect("pg_dump runs (VAULTQL_TEST_POSTGRES_BIN names its directory)");
    assert!(
        dump.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let dump = dump.stdout;
    assert!(
        contains(&dump, masked(&numbers[0]).as_bytes()),
        "the dump holds the customer's cards, so it is the right dump"
    );
    for number in &numbers {
        assert!(
            !contains(&dump, number.as_bytes()),
            "pg_dump holds the full card number {}",
            masked(number)
        );
    }
    // The server's files: tables, WAL, logs (when the suite started the server, it says where).
    if let Ok(data) = std::env::var("VAULTQL_TEST_POSTGRES_DATA") {
        // A checkpoint writes the tables' pages too, not only the WAL.
        let pool = RawPool::of(&app.data_dir).await;
        pool.execute("CHECKPOINT").await;
        pool.close().await;
        let finders: Vec<memmem::Finder> = numbers
            .iter()
            .map(|n| memmem::Finder::new(n.as_bytes()))
            .collect();
        let shown = masked(&numbers[0]);
        let shown = memmem::Finder::new(shown.as_bytes());
        let (mut read, mut seen) = (0, false);
        for_each_file(Path::new(&data), &mut |path, bytes| {
            read += 1;
            seen |= shown.find(bytes).is_some();
            for (finder, number) in finders.iter().zip(&numbers) {
                assert!(
                    finder.find(bytes).is_none(),
                    "{} holds the full card number {}",
                    path.display(),
                    masked(number)
                );
            }
        });
        assert!(
            read > 100 && seen,
            "the data directory was read ({read} files) and holds the stored cards (masked)"
        );
    }
}

/// Calls `visit` with every file under `dir` and its bytes, one file at a time.
fn for_each_file(dir: &Path, visit: &mut dyn FnMut(&Path, &[u8])) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            for_each_file(&path, visit);
        } else if let Ok(bytes) = std::fs::read(&path) {
            visit(&path, &bytes);
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memmem::find(haystack, needle).is_some()
}

fn card_request(number: &str) -> AddBillingCardRequest {
    AddBillingCardRequest {
        card_number: Some(Secret::new(number.to_owned())),
        exp_date: Some("1239".into()),
        billing_zip: Some("94107".into()),
        ..AddBillingCardRequest::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_data_key_seals_new_cards_while_old_ones_still_open_each_with_an_audit_record() {
    let store = crate::database::open_private().await;
    let master = MasterKey::generate();
    let now = test_now();
    let vault = VaultService::open(store.clone(), &master, now)
        .await
        .expect("the vault opens");
    let customer = AddCustomerRequest {
        customer_id: Some("Rotate01".into()),
        customer_first_name: Some("Ro".into()),
        customer_last_name: Some("Tate".into()),
        billing_cards: Some(vec![card_request(VISA)]),
        ..AddCustomerRequest::default()
    };
    let old = vault
        .add_customer(MERCHANT_A, customer, now)
        .await
        .expect("a customer")
        .cards[0]
        .clone();

    // Rotation: a new data key is stored; a vault opened afterwards seals with it.
    store
        .insert_key(
            KeyPurpose::Data,
            &new_wrapped_key(&master, KeyPurpose::Data),
            now,
        )
        .await
        .expect("a new data key");
    let vault = VaultService::open(store.clone(), &master, now)
        .await
        .expect("the vault opens with both keys");
    let record = vault
        .add_card(MERCHANT_A, "Rotate01", card_request(MASTERCARD), now)
        .await
        .expect("a second card");
    let new = record
        .cards
        .iter()
        .find(|c| c.card_id != old.card_id)
        .expect("the new card")
        .clone();
    assert!(
        new.key_id > old.key_id,
        "{} then {}",
        old.key_id,
        new.key_id
    );

    let wanted = [
        ("Rotate01", old.card_id.as_str()),
        ("Rotate01", new.card_id.as_str()),
    ];
    let opened = vault
        .open_cards(MERCHANT_A, &wanted, "rotation test", now)
        .await
        .expect("both open");
    assert_eq!(opened[&old.card_id].number.expose(), VISA);
    assert_eq!(opened[&new.card_id].number.expose(), MASTERCARD);
}
