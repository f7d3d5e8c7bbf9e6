//! The entities, generated in memory before they are written: users, developer accounts,
//! integrations, organizations and authorizations, with consistent dates and states.

use std::collections::HashSet;

use chrono::{Duration, NaiveDateTime};
use concat_portal::db::new_id;
use concat_portal::domain::{new_org_public_id, ApiId};

use super::sql::Rng;
use super::Shape;

pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub admin: bool,
    pub suspended: bool,
    pub created_at: NaiveDateTime,
}

pub struct Account {
    pub id: String,
    pub company: String,
    pub owner: usize,
    pub members: Vec<usize>,
    pub suspended: bool,
    pub created_at: NaiveDateTime,
    pub integrations: Vec<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Inactive,
    Retired,
}

pub struct Integ {
    pub id: String,
    pub account: usize,
    pub api_id: String,
    pub name: String,
    pub status: Status,
    pub created_at: NaiveDateTime,
    pub activity_at: NaiveDateTime,
    pub deactivated_at: Option<NaiveDateTime>,
    pub retired_at: Option<NaiveDateTime>,
    pub secret_id: String,
}

pub struct Org {
    pub id: String,
    pub public_id: String,
    pub name: String,
    pub admins: Vec<usize>,
    pub created_at: NaiveDateTime,
    /// Public ids of its published events.
    pub published: Vec<String>,
    /// Its first event (any status), for the edit page.
    pub first_event: String,
    pub auths: Vec<usize>,
}

pub struct Auth {
    pub id: String,
    pub org: usize,
    pub integ: usize,
    pub authorized_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub purged: bool,
}

/// Everything generated, by index (`Account::owner` indexes `users`, and so on).
pub struct World {
    pub users: Vec<User>,
    pub accounts: Vec<Account>,
    pub orgs: Vec<Org>,
    pub integs: Vec<Integ>,
    pub auths: Vec<Auth>,
    /// The benchmark's organization admin (of the first two organizations).
    pub bench_org_admin: usize,
}

pub fn generate(shape: &Shape, now: NaiveDateTime, rng: &mut Rng) -> World {
    let mut users: Vec<User> = Vec::new();
    let user = |users: &mut Vec<User>, email: String, name: String, admin, created_at| {
        users.push(User {
            id: new_id(),
            email,
            name,
            admin,
            suspended: false,
            created_at,
        });
        users.len() - 1
    };
    for k in 0..shape.admins {
        let email = if k == 0 {
            "bench-admin@concat.example".to_string()
        } else {
            format!("admin{k}@concat.example")
        };
        user(
            &mut users,
            email,
            format!("ConCat Admin {k}"),
            true,
            now - Duration::days(1500),
        );
    }
    let mut accounts = Vec::new();
    for k in 0..shape.accounts {
        let created_at = now - Duration::days(if k == 0 { 1400 } else { rng.range(400, 1500) });
        let company = format!(
            "{} {k}",
            ["Ticketing", "Events", "Apps", "Data", "Labs"][k % 5]
        );
        let owner_email = if k == 0 {
            "bench-dev@company0.example".to_string()
        } else {
            format!("owner{k}@company{k}.example")
        };
        let owner = user(
            &mut users,
            owner_email,
            format!("Developer {k}"),
            false,
            created_at,
        );
        let mut members = Vec::new();
        let extra = if k == 0 { 2 } else { usize::from(k % 4 == 0) };
        for m in 0..extra {
            members.push(user(
                &mut users,
                format!("member{m}.{k}@company{k}.example"),
                format!("Member {m} of {k}"),
                false,
                created_at + Duration::days(10),
            ));
        }
        accounts.push(Account {
            id: new_id(),
            company,
            owner,
            members,
            suspended: k != 0 && k % 100 == 50,
            created_at,
            integrations: Vec::new(),
        });
    }
    let mut orgs = Vec::new();
    for k in 0..shape.orgs {
        let created_at = now - Duration::days(rng.range(300, 1400));
        let admin_email = if k == 0 {
            "bench-org@org0.example".to_string()
        } else {
            format!("orgadmin{k}@org{k}.example")
        };
        let admin = user(
            &mut users,
            admin_email,
            format!("Organizer {k}"),
            false,
            created_at,
        );
        orgs.push(Org {
            id: new_id(),
            public_id: new_org_public_id(),
            name: format!("Org {k} Events"),
            admins: vec![admin],
            created_at,
            published: Vec::new(),
            first_event: String::new(),
            auths: Vec::new(),
        });
    }
    // The benchmark's organization admin runs two organizations (so `/org` lists them).
    let bench_org_admin = orgs[0].admins[0];
    orgs[1].admins.push(bench_org_admin);
    for (k, u) in users.iter_mut().enumerate() {
        // 1 % suspended, never one the benchmark signs in as.
        u.suspended = k % 100 == 37 && !u.email.starts_with("bench-");
    }

    // ---------------------------------------------------------------- integrations
    let mut integs: Vec<Integ> = Vec::new();
    for i in 0..shape.integrations {
        let account = if i < shape.bench_integrations || shape.accounts == 1 {
            0
        } else {
            1 + rng.below(shape.accounts - 1)
        };
        let acct_age = (now - accounts[account].created_at).num_days();
        let created_at = if account == 0 && i < 3 {
            accounts[0].created_at + Duration::days(10 + i as i64)
        } else {
            accounts[account].created_at
                + Duration::days(rng.range(1, (acct_age - 30).max(2)))
                + Duration::seconds(rng.range(0, 86_400))
        };
        let age = (now - created_at).num_days();
        // The benchmark's account: the first active, the second inactive, the third retired.
        let status = match (account == 0, i) {
            (true, 0) => Status::Active,
            (true, 1) => Status::Inactive,
            (true, 2) => Status::Retired,
            _ if age > 400 && rng.chance(0.06) => Status::Inactive,
            _ if age > 2 && rng.chance(0.04) => Status::Retired,
            _ => Status::Active,
        };
        let (activity_at, deactivated_at, retired_at) = match status {
            Status::Active => (now - Duration::seconds(rng.range(60, 6 * 3600)), None, None),
            Status::Inactive => {
                let last = now - Duration::days(rng.range(366, age.clamp(367, 700)));
                let last = last.max(created_at);
                let off = (last + Duration::days(365) + Duration::hours(rng.range(1, 48))).min(now);
                (last, Some(off), None)
            }
            Status::Retired => {
                let at = now - Duration::days(rng.range(1, age.min(300)));
                (at - Duration::hours(rng.range(1, 72)), None, Some(at))
            }
        };
        let names = [
            "Ticket Sync",
            "Badge Printer",
            "Check-in",
            "Stats",
            "Newsletter",
        ];
        integs.push(Integ {
            id: new_id(),
            account,
            api_id: ApiId::generate().as_str().to_string(),
            name: format!("{} {i}", names[i % names.len()]),
            status,
            created_at,
            activity_at: activity_at.max(created_at),
            deactivated_at,
            retired_at,
            secret_id: new_id(),
        });
        accounts[account].integrations.push(i);
    }

    // ---------------------------------------------------------------- authorizations
    let mut auths: Vec<Auth> = Vec::new();
    for (i, integ) in integs.iter().enumerate() {
        let mut chosen = HashSet::new();
        let want = shape.auths_per_integration.min(shape.orgs);
        if i == 0 {
            chosen.insert(0); // the benchmark integration serves the benchmark organization
        }
        while chosen.len() < want {
            chosen.insert(rng.below(shape.orgs));
        }
        let mut chosen: Vec<usize> = chosen.into_iter().collect();
        chosen.sort_unstable();
        let last_possible = match integ.status {
            Status::Active => now - Duration::hours(1),
            Status::Inactive => integ.activity_at,
            Status::Retired => integ.retired_at.expect("retired") - Duration::hours(1),
        };
        let span = (last_possible - integ.created_at).num_seconds().max(2);
        for org in chosen {
            let after = if rng.chance(0.7) {
                rng.range(3600, (30 * 86_400).min(span))
            } else {
                rng.range(1, span)
            };
            let authorized_at = (integ.created_at + Duration::seconds(after))
                .max(orgs[org].created_at.min(last_possible));
            let authorized_at = authorized_at.min(last_possible);
            let revoked_at = match integ.status {
                Status::Retired => integ.retired_at,
                _ if i == 0 && org == 0 => None,
                _ if rng.chance(0.12) => {
                    let room = (now - authorized_at).num_seconds().max(3601);
                    Some(authorized_at + Duration::seconds(rng.range(3600, room)))
                }
                _ => None,
            };
            let purged = revoked_at.is_some_and(|r| now - r >= Duration::days(30));
            orgs[org].auths.push(auths.len());
            auths.push(Auth {
                id: new_id(),
                org,
                integ: i,
                authorized_at,
                revoked_at,
                purged,
            });
        }
    }
    World {
        users,
        accounts,
        orgs,
        integs,
        auths,
        bench_org_admin,
    }
}
