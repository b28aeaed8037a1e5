//! The demo world of docs/api.md, seeded once and idempotently by `serve --demo`.

use anyhow::Context;

use crate::AppState;
use crate::domain::{PhoneNumberType, ProfileStatus, now_ms};
use crate::model::{ProfileData, Restrictions};
use crate::stock::StockBlock;
use crate::store::{accounts, inventory, profiles};

pub const ACCOUNT_ID: &str = "00000000-0000-0000-0000-000000000001";
pub const API_KEY: &str = "demo-product-token";
pub const ADMIN_TOKEN: &str = "demo-admin-token";
pub const NL_PROFILE_ID: &str = "00000000-0000-0000-0000-000000000011";
pub const US_PROFILE_ID: &str = "00000000-0000-0000-0000-000000000012";

fn profile(
    name: &str,
    country: &str,
    city: &str,
    region: Option<&str>,
    types: &[PhoneNumberType],
) -> ProfileData {
    ProfileData {
        name: name.into(),
        company_name: "Demo Telecom B.V.".into(),
        business_register_number: "12345678".into(),
        representative_first_name: "Dana".into(),
        representative_last_name: "Demo".into(),
        representative_phone_number: Some("+31201234567".into()),
        country_code: country.into(),
        region: region.map(str::to_string),
        city: city.into(),
        postal_code: "1011AB".into(),
        street: "Demostraat".into(),
        house_number: "1".into(),
        email_addresses: vec!["demo@example.com".into()],
        number_country_code: country.into(),
        phone_number_types: types.to_vec(),
        required_fields: None,
    }
}

fn block(
    first: i64,
    count: i64,
    country: &str,
    kind: PhoneNumberType,
    area: &str,
    city: &str,
    region: Option<&str>,
) -> StockBlock {
    StockBlock {
        first,
        count,
        country_code: country.into(),
        phone_number_type: kind,
        area_code: Some(area.into()),
        city: Some(city.into()),
        region: region.map(str::to_string),
    }
}

/// `serve --demo` on a database that holds other accounts: the demo's API key and admin token
/// are public, so seeding them next to real data would open it to anyone (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error(
    "refusing to seed the demo: the database holds {others} account(s) besides the demo account, and the demo's API key and admin token are public; use --demo only on a database of its own"
)]
pub struct Refused {
    pub others: i64,
}

/// Seeds the demo account, profiles, restrictions and stock. Safe to run on every start; refuses
/// ([`Refused`]) a database that holds accounts other than the demo account.
pub async fn seed(state: &AppState) -> anyhow::Result<()> {
    let db = &state.db;
    let (_, total) = accounts::list_accounts(db, 0, 1).await?;
    let demo_there = accounts::get_account(db, ACCOUNT_ID).await?.is_some();
    let others = total - i64::from(demo_there);
    if others > 0 {
        return Err(Refused { others }.into());
    }
    if accounts::get_account(db, ACCOUNT_ID).await?.is_none() {
        accounts::create_account(db, Some(ACCOUNT_ID), "Demo account", Some(API_KEY)).await?;
        let mut conn = db.write().acquire().await?;
        let now = now_ms();
        let nl = profile(
            "Demo NL",
            "NL",
            "Amsterdam",
            None,
            &[PhoneNumberType::Local, PhoneNumberType::Tollfree],
        );
        profiles::insert(
            &mut conn,
            NL_PROFILE_ID,
            ACCOUNT_ID,
            &nl,
            ProfileStatus::Approved,
            Some("Demo"),
            now,
        )
        .await?;
        let us = profile(
            "Demo US",
            "US",
            "New York",
            Some("NY"),
            &[PhoneNumberType::Local],
        );
        profiles::insert(
            &mut conn,
            US_PROFILE_ID,
            ACCOUNT_ID,
            &us,
            ProfileStatus::Approved,
            Some("Demo"),
            now,
        )
        .await?;
        // The demo's addresses receive status mail from the first request on.
        for p in [&nl, &us] {
            crate::store::emails::seed_confirmed(&mut conn, ACCOUNT_ID, &p.email_addresses, now)
                .await?;
        }
        drop(conn);
        let mut nl_local = Restrictions::defaults("NL", PhoneNumberType::Local);
        nl_local.max_quantity = 100;
        nl_local.ranges_supported = true;
        nl_local.allowed_range_sizes = vec![10, 100];
        inventory::put_restrictions(db, &nl_local).await?;
        // General prices for the demo stock, so the first request already shows a `price`.
        for (country, kind, currency, setup, monthly) in [
            ("NL", PhoneNumberType::Local, "EUR", "1.50", "2.00"),
            ("NL", PhoneNumberType::Tollfree, "EUR", "10.00", "15.00"),
            ("US", PhoneNumberType::Local, "USD", "1.00", "1.25"),
        ] {
            let price = crate::money::Price {
                currency: crate::money::Currency::parse(currency).context("demo currency")?,
                setup: crate::money::Amount::parse_price(setup).context("demo amount")?,
                monthly: crate::money::Amount::parse_price(monthly).context("demo amount")?,
            };
            crate::prices::set(
                db,
                crate::prices::PriceEntry {
                    account_id: None,
                    country_code: country.into(),
                    phone_number_type: kind.as_str().into(),
                    price,
                },
            )
            .await?;
        }
    }
    let blocks = [
        block(
            31_201_000_000,
            1000,
            "NL",
            PhoneNumberType::Local,
            "20",
            "Amsterdam",
            None,
        ),
        block(
            31_101_000_000,
            1000,
            "NL",
            PhoneNumberType::Local,
            "10",
            "Rotterdam",
            None,
        ),
        block(
            31_800_100_000,
            100,
            "NL",
            PhoneNumberType::Tollfree,
            "800",
            "",
            None,
        ),
        block(
            12_125_550_000,
            1000,
            "US",
            PhoneNumberType::Local,
            "212",
            "New York",
            Some("NY"),
        ),
    ];
    let mut blocks = blocks.to_vec();
    blocks[2].city = None;
    crate::stock::import(state, &blocks)
        .await
        .map_err(|e| anyhow::anyhow!("seeding demo stock: {e}"))?;
    Ok(())
}

/// The banner printed on standard error after seeding.
pub fn banner(addr: &std::net::SocketAddr, admin_token: &str) -> String {
    format!(
        "\nnumberdesk demo is ready on http://{addr}\n\
         account {ACCOUNT_ID}, API key {API_KEY}, admin token {admin_token}\n\
         company profiles: NL {NL_PROFILE_ID} (LOCAL, TOLLFREE), US {US_PROFILE_ID} (LOCAL)\n\n\
         Request two Amsterdam numbers:\n\n\
         curl -s -X POST http://{addr}/voice/phonenumberrequestapi/v1/{ACCOUNT_ID}/numberrequests \\\n  \
         -H 'X-CM-PRODUCTTOKEN: {API_KEY}' -H 'Content-Type: application/json' \\\n  \
         -d '{{\"companyProfileId\":\"{NL_PROFILE_ID}\",\"phoneNumberType\":\"LOCAL\",\"areaCode\":\"20\",\"quantity\":2}}'\n\n\
         API reference: http://{addr}/docs\n"
    )
}
