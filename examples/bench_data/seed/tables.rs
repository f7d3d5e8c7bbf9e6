//! The entity tables, written from the generated `World` with multi-row `INSERT`s.

use chrono::{Duration, NaiveDateTime};
use concat_portal::db::{new_id, DbConn};
use concat_portal::domain::new_event_public_id;
use concat_portal::jobs;

use super::model::{Status, World};
use super::sql::{b, phase, q, qo, ts, tso, Insert, Rng};
use super::Shape;

/// Users, developer accounts and their members, organizations and their admins, integrations,
/// API secrets, authorizations, and the organizations' events (recorded in `w.orgs`).
pub fn entities(
    c: &mut DbConn,
    shape: &Shape,
    w: &mut World,
    hash: &str,
    now: NaiveDateTime,
) -> anyhow::Result<()> {
    let admin_id = w.users[0].id.clone();
    let (users, accounts, integs, auths) = (&w.users, &w.accounts, &w.integs, &w.auths);
    let orgs = &mut w.orgs;
    phase(c, "users, accounts, organizations", |c| {
        let mut ins = Insert::new(
            c,
            "users",
            "id, email, email_normalized, display_name, password_hash, is_concat_admin, status, \
             session_version, created_at, updated_at",
        );
        for u in users.iter() {
            ins.row(&[
                q(&u.id),
                q(&u.email),
                q(&u.email.to_lowercase()),
                q(&u.name),
                q(hash),
                b(u.admin),
                q(if u.suspended { "suspended" } else { "active" }),
                "1".into(),
                ts(u.created_at),
                ts(u.created_at),
            ])?;
        }
        ins.done()?;
        let mut ins = Insert::new(
            c,
            "developer_accounts",
            "id, company_name, website, created_at, api_rate_limit, status, suspended_at, \
             suspension_reason",
        );
        for (k, a) in accounts.iter().enumerate() {
            let suspended_at = a
                .suspended
                .then(|| now - Duration::days(3 + (k % 60) as i64));
            ins.row(&[
                q(&a.id),
                q(&a.company),
                q(&format!("https://company{k}.example/")),
                ts(a.created_at),
                if k % 50 == 7 {
                    "600".into()
                } else {
                    "NULL".into()
                },
                q(if a.suspended { "suspended" } else { "active" }),
                tso(suspended_at),
                qo(a.suspended.then_some("Unpaid invoices (benchmark data).")),
            ])?;
        }
        ins.done()?;
        let mut ins = Insert::new(
            c,
            "developer_members",
            "account_id, user_id, role, created_at",
        );
        for a in accounts.iter() {
            ins.row(&[
                q(&a.id),
                q(&users[a.owner].id),
                q("owner"),
                ts(a.created_at),
            ])?;
            for m in &a.members {
                ins.row(&[
                    q(&a.id),
                    q(&users[*m].id),
                    q("member"),
                    ts(users[*m].created_at),
                ])?;
            }
        }
        ins.done()?;
        let mut ins = Insert::new(c, "organizations", "id, public_id, name, created_at");
        for o in orgs.iter() {
            ins.row(&[q(&o.id), q(&o.public_id), q(&o.name), ts(o.created_at)])?;
        }
        ins.done()?;
        let mut ins = Insert::new(
            c,
            "organization_admins",
            "organization_id, user_id, created_at",
        );
        for o in orgs.iter() {
            for a in &o.admins {
                ins.row(&[q(&o.id), q(&users[*a].id), ts(o.created_at)])?;
            }
        }
        ins.done()?;
        Ok(())
    })?;

    phase(c, "integrations, secrets, authorizations, events", |c| {
        let mut ins = Insert::new(
            c,
            "integrations",
            "id, account_id, api_id, display_name, description, status, created_at, \
             approved_by_user_id, last_used_at, activity_at, inactivity_stage, inactivity_exempt, \
             inactivity_warned_at, deactivated_at, retired_at, retired_by_user_id",
        );
        for (i, g) in integs.iter().enumerate() {
            let owner = &users[accounts[g.account].owner].id;
            let status = match g.status {
                Status::Active => "active",
                Status::Inactive => "inactive",
                Status::Retired => "retired",
            };
            let inactive = g.status == Status::Inactive;
            ins.row(&[
                q(&g.id),
                q(&accounts[g.account].id),
                q(&g.api_id),
                q(&g.name),
                q("Synchronises event data with our ticketing platform (benchmark data)."),
                q(status),
                ts(g.created_at),
                q(&users[i % shape.admins].id),
                ts(g.activity_at),
                ts(g.activity_at),
                if inactive { "2".into() } else { "0".into() },
                b(i % 100 == 99),
                tso(inactive.then(|| g.activity_at + Duration::days(358))),
                tso(g.deactivated_at),
                tso(g.retired_at),
                qo(g.retired_at.map(|_| owner.as_str())),
            ])?;
        }
        ins.done()?;
        let mut ins = Insert::new(
            c,
            "api_secrets",
            "id, integration_id, prefix, digest, created_at, created_by_user_id, expires_at, \
             revoked_at, last_used_at",
        );
        let mut digest_no = 0u64;
        let mut digest = || {
            use sha2::Digest;
            digest_no += 1;
            hex::encode(sha2::Sha256::digest(format!("bench-secret-{digest_no}")))
        };
        for (i, g) in integs.iter().enumerate() {
            let owner = &users[accounts[g.account].owner].id;
            let created = g.created_at + Duration::minutes(1);
            let revoked = g.deactivated_at.or(g.retired_at);
            if i % 5 == 0 {
                // An older secret, rolled: it expired a day after the current one was made.
                ins.row(&[
                    q(&new_id()),
                    q(&g.id),
                    q(&format!("cc_sk_{:04}", i % 10_000)),
                    q(&digest()),
                    ts(created - Duration::minutes(1)),
                    q(owner),
                    ts(created + Duration::days(1)),
                    "NULL".into(),
                    ts(created),
                ])?;
            }
            ins.row(&[
                q(&g.secret_id),
                q(&g.id),
                q(&format!("cc_sk_{:04}", (i + 1) % 10_000)),
                q(&digest()),
                ts(created + Duration::days(i64::from(i % 5 == 0))),
                q(owner),
                "NULL".into(),
                tso(revoked),
                ts(g.activity_at),
            ])?;
        }
        ins.done()?;
        let mut ins = Insert::new(
            c,
            "authorizations",
            "id, organization_id, integration_id, scopes, status, authorized_at, \
             authorized_by_user_id, authorized_via, revoked_at, revoked_by_user_id, revoked_via, \
             deletion_due_at, deletion_confirmed_at, deletion_confirmed_by_user_id, deletion_note, \
             last_used_at, duty_stage, deletion_overdue_at, deletion_confirmed_via, \
             usage_purged_at, include_drafts",
        );
        let mut rng = Rng(7);
        for (k, a) in auths.iter().enumerate() {
            let org = &orgs[a.org];
            let g = &integs[a.integ];
            let org_admin = &users[org.admins[0]].id;
            let owner = &users[accounts[g.account].owner].id;
            let support = k % 20 == 3;
            let by = if support { &admin_id } else { org_admin };
            let scopes = if k % 10 < 3 {
                "events:read events:write"
            } else {
                "events:read"
            };
            let mut row = vec![
                q(&a.id),
                q(&org.id),
                q(&g.id),
                q(scopes),
                q(if a.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                }),
                ts(a.authorized_at),
                q(by),
                q(if support { "support" } else { "organization" }),
            ];
            let last_used =
                (g.status == Status::Active && a.revoked_at.is_none()).then_some(g.activity_at);
            match a.revoked_at {
                None => {
                    row.extend(["NULL".to_string(), "NULL".into(), "NULL".into()]);
                    row.extend(["NULL".to_string(), "NULL".into(), "NULL".into()]);
                    row.extend(["NULL".to_string(), tso(last_used), "0".into()]);
                    row.extend(["NULL".to_string(), "NULL".into(), "NULL".into()]);
                }
                Some(revoked) => {
                    let retirement = g.status == Status::Retired;
                    let due = revoked + Duration::days(30);
                    let age = (now - revoked).num_days();
                    // Confirmed: 80 % of the duties past their deadline, 30 % of the open ones.
                    let confirmed = rng.chance(if age >= 30 { 0.8 } else { 0.3 });
                    let confirmed_at =
                        confirmed.then(|| (revoked + Duration::days(rng.range(1, 29))).min(now));
                    let stage = match (confirmed, age) {
                        (true, _) => 0,
                        (false, a) if a >= 30 => 3,
                        (false, a) if a >= 29 => 2,
                        (false, a) if a >= 23 => 1,
                        _ => 0,
                    };
                    row.extend([
                        ts(revoked),
                        q(if retirement { owner } else { org_admin }),
                        q(if retirement {
                            "retirement"
                        } else {
                            "organization"
                        }),
                        ts(due),
                        tso(confirmed_at),
                        qo(confirmed.then_some(owner.as_str())),
                        qo(confirmed.then_some("Deleted from our systems.")),
                        tso(Some(revoked - Duration::hours(1)).filter(|t| *t > a.authorized_at)),
                        stage.to_string(),
                        tso((stage == 3).then_some(due)),
                        qo(confirmed.then_some("developer")),
                        tso(a.purged.then(|| due + Duration::minutes(5))),
                    ]);
                }
            }
            row.push(b(k % 10 == 5));
            ins.row(&row)?;
        }
        ins.done()?;
        let mut ins = Insert::new(
            c,
            "events",
            "id, public_id, organization_id, name, starts_at, ends_at, time_zone, venue, status, \
             created_at, updated_at, changed_by_api_id",
        );
        let zones = ["Europe/Berlin", "UTC", "America/New_York", "Asia/Tokyo"];
        for (k, o) in orgs.iter_mut().enumerate() {
            for e in 0..shape.events_per_org {
                let public_id = new_event_public_id();
                let starts = now + Duration::days(rng.range(-300, 180)) + Duration::hours(9);
                let status = match rng.below(10) {
                    0..=6 => "published",
                    7 | 8 => "draft",
                    _ => "cancelled",
                };
                if status == "published" {
                    o.published.push(public_id.clone());
                }
                if e == 0 {
                    o.first_event = public_id.clone();
                }
                let created = (starts - Duration::days(rng.range(30, 200))).max(o.created_at);
                let changed_by = (!o.auths.is_empty() && rng.chance(0.25)).then(|| {
                    integs[auths[o.auths[rng.below(o.auths.len())]].integ]
                        .api_id
                        .as_str()
                });
                ins.row(&[
                    q(&new_id()),
                    q(&public_id),
                    q(&o.id),
                    q(&format!("Convention {k}.{e}")),
                    ts(starts),
                    ts(starts + Duration::hours(rng.range(3, 72))),
                    q(zones[e % zones.len()]),
                    q(&format!("Hall {}", e % 7 + 1)),
                    q(status),
                    ts(created.min(now)),
                    ts((created + Duration::days(3)).min(now)),
                    qo(changed_by),
                ])?;
            }
        }
        ins.done()?;
        Ok(())
    })?;
    Ok(())
}

/// Access requests, their messages, and the two emails of each in the outbox. Returns a
/// pending request with messages, for its page.
pub fn requests(
    c: &mut DbConn,
    shape: &Shape,
    w: &World,
    now: NaiveDateTime,
) -> anyhow::Result<Option<String>> {
    let admin_id = w.users[0].id.clone();
    let (users, accounts, orgs, integs) = (&w.users, &w.accounts, &w.orgs, &w.integs);
    let bench_request = phase(c, "access requests, messages, outbox", |c| {
        let mut rng = Rng(13);
        let mut requests = Vec::with_capacity(shape.access_requests);
        let mut ins = Insert::new(
            c,
            "access_requests",
            "id, kind, status, requester_name, company_name, website, contact_email, \
             contact_email_normalized, phone, app_name, use_case, event_customers, account_id, \
             requested_by_user_id, client_ip, created_at, updated_at, decided_at, \
             decided_by_user_id, rejection_reason, integration_id, confirmed_at",
        );
        let mut bench_request = None;
        for k in 0..shape.access_requests {
            let id = new_id();
            let created = now - Duration::seconds(rng.range(600, shape.days * 86_400));
            let age = (now - created).num_days();
            let confirmed = rng.chance(0.9);
            let additional = rng.chance(0.2);
            let status = match (confirmed, age < 14) {
                (false, _) => "pending",
                (true, true) if rng.chance(0.8) => "pending",
                (true, true) => "info_requested",
                (true, false) if rng.chance(0.15) => "approved",
                (true, false) => "rejected",
            };
            let decided = matches!(status, "approved" | "rejected");
            let decided_at =
                decided.then(|| (created + Duration::hours(rng.range(1, 240))).min(now));
            let account = additional.then(|| rng.below(accounts.len()));
            let (email, name, company) = match account {
                Some(a) => (
                    users[accounts[a].owner].email.clone(),
                    users[accounts[a].owner].name.clone(),
                    accounts[a].company.clone(),
                ),
                None => (
                    format!("requester{k}@applicant{}.example", k % 5000),
                    format!("Requester {k}"),
                    format!("Applicant {} Ltd", k % 5000),
                ),
            };
            let integration = (status == "approved")
                .then(|| rng.below(integs.len()))
                .map(|i| &integs[i]);
            let account_id = account
                .map(|a| accounts[a].id.as_str())
                .or(integration.map(|g| accounts[g.account].id.as_str()));
            let customers = format!(
                "{}\n{}",
                orgs[rng.below(orgs.len())].name,
                orgs[rng.below(orgs.len())].name
            );
            if bench_request.is_none() && status == "pending" && confirmed && !additional {
                bench_request = Some(id.clone());
            }
            ins.row(&[
                q(&id),
                q(if additional {
                    "additional_integration"
                } else {
                    "new_account"
                }),
                q(status),
                q(&name),
                q(&company),
                q(&format!("https://applicant{}.example/", k % 5000)),
                q(&email),
                q(&email.to_lowercase()),
                qo((k % 2 == 0).then_some("+49 30 1234567")),
                q(&format!("Ticket Bridge {k}")),
                q(
                    "We sell tickets for conventions and want to publish their schedules \
                   (benchmark data). We would read events daily and update a few of them.",
                ),
                q(&customers),
                qo(account_id),
                qo(account.map(|a| users[accounts[a].owner].id.as_str())),
                q(&format!("192.0.2.{}", k % 250)),
                ts(created),
                ts(decided_at.unwrap_or(created)),
                tso(decided_at),
                qo(decided.then_some(admin_id.as_str())),
                qo((status == "rejected").then_some("Not an event organizer's integration.")),
                qo(integration.map(|g| g.id.as_str())),
                tso(confirmed.then(|| created + Duration::minutes(5))),
            ])?;
            requests.push((id, status, created, decided_at, email));
        }
        ins.done()?;
        let mut ins = Insert::new(
            c,
            "access_request_messages",
            "id, request_id, author, author_user_id, body, created_at",
        );
        for (k, (id, status, created, _, _)) in requests.iter().enumerate() {
            let asked = *status == "info_requested"
                || (*status == "pending" && k % 3 == 0 && now - *created < Duration::days(14))
                || bench_request.as_deref() == Some(id.as_str());
            if !asked {
                continue;
            }
            ins.row(&[
                q(&new_id()),
                q(id),
                q("admin"),
                q(&admin_id),
                q("Which events would you read, and how often?"),
                ts(*created + Duration::hours(2)),
            ])?;
            if *status == "pending" {
                ins.row(&[
                    q(&new_id()),
                    q(id),
                    q("requester"),
                    "NULL".into(),
                    q("Our customers' conventions, once an hour."),
                    ts(*created + Duration::hours(5)),
                ])?;
            }
        }
        ins.done()?;
        let mut ins = Insert::new(
            c,
            "outbox",
            "id, dedup_key, kind, recipient, subject, body_text, body_html, status, attempts, \
             last_error, next_attempt_at, locked_until, created_at, sent_at, failure_kind, \
             counted_failures",
        );
        let delivered = concat_portal::db::models::outbox::DELIVERED_BODY;
        for (k, (id, status, created, decided_at, email)) in requests.iter().enumerate() {
            let second = match (*status, decided_at) {
                ("approved", Some(at)) => ("access_approved", email.as_str(), *at),
                ("rejected", Some(at)) => ("access_rejected", email.as_str(), *at),
                _ => (
                    "access_request_admin_notice",
                    "bench-admin@concat.example",
                    *created + Duration::minutes(5),
                ),
            };
            for (j, (kind, to, at)) in [
                ("access_request_received", email.as_str(), *created),
                second,
            ]
            .into_iter()
            .enumerate()
            {
                let failed = (k * 2 + j) % 1000 == 999;
                ins.row(&[
                    q(&new_id()),
                    q(&format!("{kind}:{id}")),
                    q(kind),
                    q(to),
                    q("Your access request (benchmark data)"),
                    q(if failed { "Hello" } else { delivered }),
                    q(if failed { "<p>Hello</p>" } else { delivered }),
                    q(if failed { "failed" } else { "sent" }),
                    if failed { "5".into() } else { "1".into() },
                    qo(failed.then_some("550 5.1.1 mailbox unavailable")),
                    ts(at),
                    "NULL".into(),
                    ts(at),
                    tso((!failed).then(|| (at + Duration::seconds(3)).min(now))),
                    qo(failed.then_some("permanent")),
                    if failed { "5".into() } else { "0".into() },
                ])?;
            }
        }
        ins.done()?;
        Ok(bench_request)
    })?;
    Ok(bench_request)
}

/// Invitations, reactivation requests, and a year of hourly job runs.
pub fn rest(c: &mut DbConn, shape: &Shape, w: &World, now: NaiveDateTime) -> anyhow::Result<()> {
    let (users, accounts, orgs, integs) = (&w.users, &w.accounts, &w.orgs, &w.integs);
    phase(c, "invitations, reactivations, job runs", |c| {
        let mut ins = Insert::new(
            c,
            "invitations",
            "id, kind, target_id, role, email, email_normalized, name, status, \
             invited_by_user_id, created_at, expires_at, decided_at, decided_by_user_id",
        );
        for (k, a) in accounts.iter().enumerate() {
            for m in &a.members {
                let u = &users[*m];
                ins.row(&[
                    q(&new_id()),
                    q("developer_account"),
                    q(&a.id),
                    q("member"),
                    q(&u.email),
                    q(&u.email.to_lowercase()),
                    q(&u.name),
                    q("accepted"),
                    q(&users[a.owner].id),
                    ts(u.created_at - Duration::days(1)),
                    ts(u.created_at + Duration::days(13)),
                    ts(u.created_at),
                    q(&u.id),
                ])?;
            }
            if k % 10 == 0 {
                let email = format!("invitee{k}@company{k}.example");
                ins.row(&[
                    q(&new_id()),
                    q("developer_account"),
                    q(&a.id),
                    q("member"),
                    q(&email),
                    q(&email),
                    q(&format!("Invitee {k}")),
                    q("pending"),
                    q(&users[a.owner].id),
                    ts(now - Duration::days(2)),
                    ts(now + Duration::days(12)),
                    "NULL".into(),
                    "NULL".into(),
                ])?;
            }
        }
        for (k, o) in orgs.iter().enumerate().filter(|(k, _)| k % 10 == 0) {
            let email = format!("helper{k}@org{k}.example");
            ins.row(&[
                q(&new_id()),
                q("organization"),
                q(&o.id),
                "NULL".into(),
                q(&email),
                q(&email),
                q(&format!("Helper {k}")),
                q("pending"),
                q(&users[o.admins[0]].id),
                ts(now - Duration::days(1)),
                ts(now + Duration::days(13)),
                "NULL".into(),
                "NULL".into(),
            ])?;
        }
        ins.done()?;
        let mut ins = Insert::new(
            c,
            "reactivation_requests",
            "id, integration_id, requested_by_user_id, reason, status, created_at",
        );
        for (k, g) in integs
            .iter()
            .enumerate()
            .filter(|(k, g)| g.status == Status::Inactive && k % 5 == 3)
        {
            ins.row(&[
                q(&new_id()),
                q(&g.id),
                q(&users[accounts[g.account].owner].id),
                q("We are launching again next season (benchmark data)."),
                q("pending"),
                ts(now - Duration::hours(1 + (k % 300) as i64)),
            ])?;
        }
        ins.done()?;
        let mut ins = Insert::new(
            c,
            "job_runs",
            "id, job, trigger, as_of, duration_ms, outcome, counts, error, finished_at",
        );
        for h in (1..=shape.days * 24).rev() {
            let at = now - Duration::hours(h);
            for (j, job) in jobs::JOBS.iter().enumerate() {
                let ms = 3 + (h * 7 + j as i64 * 13) % 120;
                ins.row(&[
                    q(&new_id()),
                    q(job),
                    q("scheduler"),
                    ts(at),
                    ms.to_string(),
                    q("ok"),
                    q(if h % 24 == 5 {
                        r#"{"reminders":1}"#
                    } else {
                        "{}"
                    }),
                    "NULL".into(),
                    ts(at + Duration::milliseconds(ms)),
                ])?;
            }
        }
        ins.done()?;
        Ok(())
    })?;
    Ok(())
}
