//! Demo data for `ssn serve --demo`: one program with its food catalog, two E-Warungs with
//! terminals, five households with cards, and one user per role. It loads into an empty database
//! only, and is the same every time (card numbers come from a fixed seed) so the README's tour
//! works verbatim.

use rand::SeedableRng;

use crate::{
    auth::password,
    domain::{
        catalog::CommodityGroup,
        household::Address,
        ids::{EwarungId, UserId},
        pan::Pan,
        pin::Pin,
        role::Role,
    },
    http::state::AppState,
    quota::StagedLine,
    store::{
        BankAccount, NewCard, NewCatalogItem, NewEwarung, NewHousehold, NewProgram, NewTerminal,
        NewUser, Page, WrappedPinKey,
    },
};
use terminal_link::pin_block::TerminalKey;
/// The demo PIN of every demo card.
pub const DEMO_PIN: &str = "123456";
/// The PIN key of every demo terminal (`terminal-sim`'s default), for the demo only: real
/// terminals each get a random key when they are registered.
pub const DEMO_TERMINAL_PIN_KEY: &str = terminal_link::pin_block::DEMO_KEY_HEX;
const SEED: u64 = 20_261_123;

/// The NIK of the first demo E-Warung's owner (Ibu Siti Aminah) and of its operator
/// `warung-berkah`: neither may be named a household's representative.
pub const DEMO_OWNER_NIK: &str = "6472016005750001";
pub const DEMO_OPERATOR_NIK: &str = "6472012502900003";

/// (username, role, password, E-Warung index for operators)
const USERS: &[(&str, Role, &str, Option<usize>)] = &[
    ("admin", Role::Admin, "demo-admin-pass", None),
    ("dinsos", Role::Office, "demo-office-pass", None),
    ("diskominfo", Role::Office, "demo-office2-pass", None),
    (
        "warung-berkah",
        Role::Operator,
        "demo-operator-pass",
        Some(0),
    ),
    (
        "warung-sejahtera",
        Role::Operator,
        "demo-operator2-pass",
        Some(1),
    ),
    ("kaltimtara", Role::Bank, "demo-bank-pass", None),
    // A second bank user: a run that would take money back waits for another bank user's word.
    ("kaltimtara-2", Role::Bank, "demo-bank2-pass", None),
    ("auditor", Role::Auditor, "demo-auditor-pass", None),
    // A kelurahan verifier, working where the first two demo households live.
    ("verifikator", Role::Verifier, "demo-verifier-pass", None),
];

/// The kelurahan the demo verifier is bound to.
const VERIFIER_KELURAHAN: [&str; 2] = ["Gunung Kelua", "Temindung Permai"];

/// (sku, name, unit, group, max unit price in rupiah)
const CATALOG: &[(&str, &str, &str, CommodityGroup, i64)] = &[
    (
        "BERAS-MEDIUM",
        "Beras medium",
        "kg",
        CommodityGroup::Carbohydrate,
        14_000,
    ),
    (
        "TELUR-AYAM",
        "Telur ayam ras",
        "kg",
        CommodityGroup::AnimalProtein,
        30_000,
    ),
    (
        "DAGING-AYAM",
        "Daging ayam ras",
        "kg",
        CommodityGroup::AnimalProtein,
        40_000,
    ),
    (
        "TAHU",
        "Tahu putih",
        "kg",
        CommodityGroup::PlantProtein,
        12_000,
    ),
    (
        "TEMPE",
        "Tempe",
        "papan",
        CommodityGroup::PlantProtein,
        6_000,
    ),
    (
        "KACANG-HIJAU",
        "Kacang hijau",
        "kg",
        CommodityGroup::PlantProtein,
        25_000,
    ),
    (
        "BAYAM",
        "Sayur bayam",
        "ikat",
        CommodityGroup::VegetablesAndFruit,
        4_000,
    ),
    (
        "PISANG",
        "Pisang kepok",
        "sisir",
        CommodityGroup::VegetablesAndFruit,
        20_000,
    ),
];

fn address(street: &str, rt: &str, kelurahan: &str, kecamatan: &str) -> Address {
    Address {
        street: street.into(),
        rt: rt.into(),
        rw: "004".into(),
        kelurahan: kelurahan.into(),
        kecamatan: kecamatan.into(),
    }
}

pub async fn load(state: &AppState) -> anyhow::Result<()> {
    let store = &state.store;
    if !store.list_users(Page::first(1)).await?.is_empty() {
        println!("demo: the database already has data; nothing loaded");
        print_credentials(&[]);
        return Ok(());
    }
    let ewarungs = [
        (
            "E-Warung Berkah",
            "Ibu Siti Aminah",
            address(
                "Jl. Pangeran Antasari No. 12",
                "012",
                "Air Putih",
                "Samarinda Ulu",
            ),
            "1240012345",
            ["SMD00001", "SMD00002"],
        ),
        (
            "E-Warung Sejahtera",
            "Bapak Rahmat",
            address("Jl. Juanda Gg. 5 No. 3", "007", "Sidodadi", "Samarinda Ulu"),
            "1240067890",
            ["SMD00003", "SMD00004"],
        ),
    ];
    let mut ewarung_ids: Vec<EwarungId> = Vec::new();
    let bootstrap = store
        .create_user(NewUser {
            nik: None,
            username: USERS[0].0.into(),
            password_hash: password::hash(USERS[0].2)?,
            role: USERS[0].1,
            ewarung_id: None,
            kelurahan: Vec::new(),
            actor: None,
        })
        .await?;
    let admin: UserId = bootstrap.id;
    for (index, (name, owner, address, account, terminals)) in ewarungs.into_iter().enumerate() {
        let bank_account = BankAccount {
            bank_code: "124".into(),
            account_number: account.into(),
            account_holder: owner.into(),
        };
        let ewarung = store
            .create_ewarung(
                NewEwarung {
                    owner_nik: (index == 0).then(|| DEMO_OWNER_NIK.to_string()),
                    name: name.into(),
                    owner_name: owner.into(),
                    address,
                    bank_account,
                },
                admin,
            )
            .await?;
        for (index, terminal_id) in terminals.iter().enumerate() {
            let key = TerminalKey::from_hex(DEMO_TERMINAL_PIN_KEY).expect("a valid demo key");
            let terminal = NewTerminal {
                terminal_id: terminal_id.to_string(),
                ewarung_id: ewarung.id,
                serial_number: format!("VX520-{terminal_id}-{index}"),
                pin_key: Some(WrappedPinKey {
                    wrapped: state.terminal_keys.wrap(terminal_id, &key),
                    check_value: key.check_value(),
                }),
            };
            store.create_terminal(terminal, admin).await?;
        }
        ewarung_ids.push(ewarung.id);
    }
    for (username, role, secret, ewarung) in &USERS[1..] {
        let user = NewUser {
            nik: (*username == "warung-berkah").then(|| DEMO_OPERATOR_NIK.to_string()),
            username: username.to_string(),
            password_hash: password::hash(secret)?,
            role: *role,
            ewarung_id: ewarung.map(|index| ewarung_ids[index]),
            kelurahan: if role.is_bound_to_kelurahan() {
                VERIFIER_KELURAHAN.map(String::from).to_vec()
            } else {
                Vec::new()
            },
            actor: Some(admin),
        };
        store.create_user(user).await?;
    }
    let office = store
        .find_user_by_username("dinsos")
        .await?
        .expect("demo office user was just created")
        .id;
    let program = store
        .create_program(
            NewProgram {
                code: "SSN-SEMBAKO".into(),
                name: "SSN Bantuan Pangan Non-Tunai".into(),
                default_monthly_amount_minor: 200_000 * 100,
                carry_over_months: 3,
            },
            office,
        )
        .await?;
    for (sku, name, unit, group, rupiah) in CATALOG {
        let item = NewCatalogItem {
            program_id: program.id,
            sku: sku.to_string(),
            name: name.to_string(),
            unit: unit.to_string(),
            commodity_group: *group,
            max_unit_price_minor: rupiah * 100,
        };
        store.add_catalog_item(item, office).await?;
    }
    let households = [
        (
            "6472010101230001",
            "6472014107850001",
            "Siti Rahmah",
            address(
                "Jl. Pramuka 6 No. 21",
                "012",
                "Gunung Kelua",
                "Samarinda Ulu",
            ),
        ),
        (
            "6472010101230002",
            "6472011203790002",
            "Ahmad Fauzi",
            address(
                "Jl. Pemuda 3 No. 8",
                "005",
                "Temindung Permai",
                "Sungai Pinang",
            ),
        ),
        (
            "6472010101230003",
            "6472015506680003",
            "Nur Aini",
            address(
                "Jl. Lambung Mangkurat No. 40",
                "021",
                "Pelita",
                "Samarinda Ilir",
            ),
        ),
        (
            "6472010101230004",
            "6472010808900004",
            "Budi Santoso",
            address(
                "Jl. Cendana Gg. 2 No. 5",
                "009",
                "Teluk Lerong Ulu",
                "Sungai Kunjang",
            ),
        ),
        (
            "6472010101230005",
            "6472016612720005",
            "Maria Ulfa",
            address(
                "Jl. Bengkuring Raya No. 77",
                "030",
                "Sempaja Timur",
                "Samarinda Utara",
            ),
        ),
    ];
    let mut rng = rand::rngs::StdRng::seed_from_u64(SEED);
    let pin = Pin::parse(DEMO_PIN).expect("the demo PIN is valid");
    let mut cards = Vec::new();
    let kk_numbers = households.each_ref().map(|h| h.0);
    for (kk, nik, name, address) in households {
        let household = store
            .create_household(
                NewHousehold {
                    kk_number: kk.into(),
                    head_nik: nik.into(),
                    head_name: name.into(),
                    address,
                    request: None,
                },
                office,
            )
            .await?;
        let pan = Pan::generate(&state.card_policy.prefix, &mut rng);
        let card = NewCard {
            household_id: household.id,
            representative_id: None,
            pan: state.pans.protect(pan.expose()),
            pin_hash: state.pins.verification_value(pan.expose(), &pin),
        };
        store.issue_card(card, office).await?;
        cards.push((name, pan));
    }
    let period = load_quota(state, &program, office, &kk_numbers).await?;
    println!("demo: loaded program SSN-SEMBAKO ({} catalog items), 2 E-Warungs with terminals SMD00001-SMD00004, 5 households with cards", CATALOG.len());
    println!("demo: loaded the {period} quota of 200000 IDR for each household (uploaded by dinsos, approved by diskominfo)");
    print_credentials(&cards);
    Ok(())
}

/// Loads this month's quota for the demo households the way an office does: one user uploads,
/// another approves. Returns the period.
async fn load_quota(
    state: &AppState,
    program: &crate::store::ProgramRecord,
    uploader: crate::domain::ids::UserId,
    kk_numbers: &[&str],
) -> anyhow::Result<String> {
    let store = state.store.as_ref();
    let approver = store
        .find_user_by_username("diskominfo")
        .await?
        .expect("demo office user was just created")
        .id;
    let period = crate::redemption::engine::local_date(crate::store::now())[..7].to_string();
    let lines: Vec<StagedLine> = kk_numbers
        .iter()
        .enumerate()
        .map(|(index, kk)| StagedLine {
            line_no: index as i64 + 2,
            program_id: program.id,
            kk_number: kk.to_string(),
            period: period.clone(),
            amount_minor: program.default_monthly_amount_minor,
        })
        .collect();
    let ledger = store.ledger();
    let batch = ledger
        .create_quota_batch(&format!("demo-{period}.csv"), uploader)
        .await?;
    let outcomes = ledger.stage_quota_chunk(batch.id, &lines, &[]).await?;
    let mut tally = crate::quota::BatchTally::default();
    tally.record(&lines, &outcomes);
    ledger
        .finish_quota_batch(batch.id, lines.len() as i64, tally.finish())
        .await?;
    crate::quota::posting::approve(store, batch.id, approver).await?;
    Ok(period)
}

fn print_credentials(cards: &[(&str, Pan)]) {
    println!("demo users (username / password / role):");
    for (username, role, secret, _) in USERS {
        println!("  {username:<18} {secret:<22} {role}");
    }
    if !cards.is_empty() {
        println!("demo cards (PIN {DEMO_PIN} for all):");
        for (name, pan) in cards {
            println!("  {}  {name}", pan.expose());
        }
    }
}
