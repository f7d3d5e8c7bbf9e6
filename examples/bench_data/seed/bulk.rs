//! The two big tables, generated in SQL day by day (`INSERT … SELECT` from small helper
//! tables, one transaction a day): raw API usage and the audit log.

use std::time::Instant;

use chrono::{Duration, NaiveDateTime, Timelike};
use concat_portal::db::{self, DbConn};
use diesel::RunQueryDsl;

use super::model::{Status, World};
use super::sql::{exec, phase, q, qo, Insert, Rng};
use super::Shape;

/// `api_usage` and `api_unverified_usage` for `shape.days` days up to today; returns the
/// number of `api_usage` rows.
pub fn usage(
    c: &mut DbConn,
    shape: &Shape,
    w: &World,
    now: NaiveDateTime,
) -> anyhow::Result<usize> {
    let today = now.date();
    let day = |d: i64| (today - Duration::days(d)).format("%Y-%m-%d").to_string();
    let (orgs, integs, auths) = (&w.orgs, &w.integs, &w.auths);
    phase(c, "usage helper tables", |c| {
        exec(
            c,
            "CREATE TEMP TABLE bench_auth (k INTEGER PRIMARY KEY, api_id TEXT NOT NULL, \
             org_id TEXT NOT NULL, event_id TEXT NOT NULL, first_day INTEGER NOT NULL, \
             last_day INTEGER NOT NULL); \
             CREATE TEMP TABLE bench_integ (k INTEGER PRIMARY KEY, api_id TEXT NOT NULL, \
             first_day INTEGER NOT NULL, last_day INTEGER NOT NULL); \
             CREATE TEMP TABLE bench_kind (endpoint TEXT NOT NULL, status INTEGER NOT NULL, \
             every INTEGER NOT NULL, with_event INTEGER NOT NULL, base INTEGER NOT NULL, \
             spread INTEGER NOT NULL);",
        )?;
        let mut ins = Insert::new(
            c,
            "bench_auth",
            "k, api_id, org_id, event_id, first_day, last_day",
        );
        let days_ago = |t: NaiveDateTime| (today - t.date()).num_days();
        for (k, a) in auths.iter().enumerate() {
            let g = &integs[a.integ];
            if g.status == Status::Inactive || a.purged {
                continue;
            }
            let first = days_ago(a.authorized_at).min(shape.days - 1);
            let last = a.revoked_at.map(days_ago).unwrap_or(0);
            if first < last {
                continue;
            }
            let o = &orgs[a.org];
            let event = if o.published.is_empty() {
                String::new()
            } else {
                o.published[k % o.published.len()].clone()
            };
            ins.row(&[
                k.to_string(),
                q(&g.api_id),
                q(&o.id),
                q(&event),
                first.to_string(),
                last.to_string(),
            ])?;
        }
        ins.done()?;
        let mut ins = Insert::new(c, "bench_integ", "k, api_id, first_day, last_day");
        for (k, g) in integs.iter().enumerate() {
            let (first, last) = match g.status {
                Status::Inactive => (-1, 0),
                Status::Active => (days_ago(g.created_at).min(shape.days - 1), 0),
                Status::Retired => (
                    days_ago(g.created_at).min(shape.days - 1),
                    days_ago(g.retired_at.expect("retired")),
                ),
            };
            ins.row(&[
                k.to_string(),
                q(&g.api_id),
                first.to_string(),
                last.to_string(),
            ])?;
        }
        ins.done()?;
        let list = "GET /api/v1/organizations/{org_id}/events";
        let mut ins = Insert::new(
            c,
            "bench_kind",
            "endpoint, status, every, with_event, base, spread",
        );
        for (endpoint, status, every, with_event, base, spread) in [
            (list, 200, 1, 0, 20, 400),
            ("GET /api/v1/event", 200, 2, 1, 5, 200),
            ("PATCH /api/v1/event", 200, 5, 1, 1, 10),
            ("GET /api/v1/event", 404, 7, 0, 1, 5),
            (list, 429, 11, 0, 1, 30),
            (list, 500, 60, 0, 1, 3),
        ] {
            ins.row(&[
                q(endpoint),
                status.to_string(),
                every.to_string(),
                with_event.to_string(),
                base.to_string(),
                spread.to_string(),
            ])?;
        }
        ins.done()?;
        Ok(())
    })?;
    let t_usage = Instant::now();
    let mut usage_rows = 0usize;
    for d in (0..shape.days).rev() {
        let dd = day(d);
        usage_rows += db::write_tx(c, |c| {
            let mut n = diesel::sql_query(format!(
                "INSERT INTO api_usage (day, api_id, organization_id, event_id, endpoint, status, \
                 requests, query_key_requests) \
                 SELECT '{dd}', s.api_id, s.org_id, \
                 CASE WHEN v.with_event = 1 THEN s.event_id ELSE '' END, v.endpoint, v.status, \
                 v.base + (s.k * 7919 + {d} * 104729) % v.spread, \
                 CASE WHEN s.k % 20 = 0 THEN v.base ELSE 0 END \
                 FROM bench_auth s CROSS JOIN bench_kind v \
                 WHERE s.first_day >= {d} AND s.last_day <= {d} AND (s.k + {d}) % v.every = 0"
            ))
            .execute(c)?;
            n += diesel::sql_query(format!(
                "INSERT INTO api_usage (day, api_id, organization_id, event_id, endpoint, status, \
                 requests, query_key_requests) \
                 SELECT '{dd}', m.api_id, '', '', 'GET /api/v1/me', 200, 1 + (m.k + {d}) % 5, 0 \
                 FROM bench_integ m \
                 WHERE m.first_day >= {d} AND m.last_day <= {d} AND (m.k + {d}) % 3 = 0"
            ))
            .execute(c)?;
            n += diesel::sql_query(format!(
                "INSERT INTO api_usage (day, api_id, organization_id, event_id, endpoint, status, \
                 requests, query_key_requests) VALUES \
                 ('{dd}', '', '', '', 'GET /api/v1/me', 401, {}, 0), \
                 ('{dd}', '', '', '', 'other', 404, {}, 0)",
                100 + d * 7 % 300,
                10 + d * 3 % 50
            ))
            .execute(c)?;
            diesel::sql_query(format!(
                "INSERT INTO api_unverified_usage (day, api_id, endpoint, status, requests, \
                 query_key_requests) \
                 SELECT '{dd}', m.api_id, 'GET /api/v1/organizations/{{org_id}}/events', 401, \
                 1 + (m.k * 13 + {d}) % 40, 0 FROM bench_integ m WHERE (m.k + {d}) % 97 = 0"
            ))
            .execute(c)?;
            Ok::<_, anyhow::Error>(n)
        })?;
        if d % 30 == 0 {
            eprintln!(
                "  api_usage: {usage_rows} rows through {dd} ({:.0} s)",
                t_usage.elapsed().as_secs_f64()
            );
        }
    }
    eprintln!(
        "  api_usage: {usage_rows} rows in {:.1} s",
        t_usage.elapsed().as_secs_f64()
    );
    exec(
        c,
        "DROP TABLE bench_auth; DROP TABLE bench_integ; DROP TABLE bench_kind;",
    )?;
    Ok(usage_rows)
}

/// `shape.audit_rows` audit entries evenly over the same days (today's up to now).
pub fn audit(
    c: &mut DbConn,
    shape: &Shape,
    w: &World,
    now: NaiveDateTime,
    pg: bool,
) -> anyhow::Result<()> {
    let today = now.date();
    let day = |d: i64| (today - Duration::days(d)).format("%Y-%m-%d").to_string();
    let (users, accounts, orgs, integs, auths) =
        (&w.users, &w.accounts, &w.orgs, &w.integs, &w.auths);
    let secs_today = i64::from(now.num_seconds_from_midnight());
    let full_days = shape.days - 1;
    let per_day = ((shape.audit_rows as f64) / (full_days as f64 + secs_today as f64 / 86_400.0))
        .ceil() as i64;
    let (actions, actors) = phase(c, "audit helper tables", |c| {
        exec(
            c,
            "CREATE TEMP TABLE bench_n (n INTEGER PRIMARY KEY, hms TEXT NOT NULL, \
             hex TEXT NOT NULL); \
             CREATE TEMP TABLE bench_action (k INTEGER PRIMARY KEY, action TEXT NOT NULL, \
             target_type TEXT, details TEXT NOT NULL, actor_kind TEXT NOT NULL); \
             CREATE TEMP TABLE bench_actor (k INTEGER PRIMARY KEY, user_id TEXT NOT NULL, \
             label TEXT NOT NULL, api_id TEXT NOT NULL, integration_id TEXT, org_id TEXT, \
             event_id TEXT);",
        )?;
        let mut ins = Insert::new(c, "bench_n", "n, hms, hex");
        for n in 0..per_day {
            let s = n * 86_400 / per_day;
            ins.row(&[
                n.to_string(),
                q(&format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)),
                q(&format!("{n:012x}")),
            ])?;
        }
        ins.done()?;
        let mut ins = Insert::new(
            c,
            "bench_action",
            "k, action, target_type, details, actor_kind",
        );
        let mut k = 0i64;
        for (action, target, details, actor, weight) in [
            ("login.password_verified", Some("user"), "{}", "user", 5),
            (
                "login.succeeded",
                Some("user"),
                r#"{"method":"password"}"#,
                "user",
                8,
            ),
            (
                "login.succeeded",
                Some("user"),
                r#"{"method":"authenticator_app"}"#,
                "user",
                1,
            ),
            ("login.failed", Some("user"), "{}", "anonymous", 2),
            ("logout", Some("user"), "{}", "user", 3),
            ("event.updated_via_api", Some("event"), "{}", "api", 8),
            ("event.updated", Some("event"), "{}", "user", 3),
            ("event.created", Some("event"), "{}", "user", 2),
            ("secret.created", Some("integration"), "{}", "user", 1),
            ("secret.rolled", Some("integration"), "{}", "user", 1),
            (
                "authorization.granted",
                Some("organization"),
                "{}",
                "user",
                1,
            ),
            (
                "authorization.scopes_changed",
                Some("organization"),
                "{}",
                "user",
                1,
            ),
            ("password.changed", Some("user"), "{}", "user", 1),
            (
                "password.reset_requested",
                Some("user"),
                "{}",
                "anonymous",
                1,
            ),
            ("access_request.submitted", None, "{}", "anonymous", 1),
        ] {
            for _ in 0..weight {
                ins.row(&[k.to_string(), q(action), qo(target), q(details), q(actor)])?;
                k += 1;
            }
        }
        ins.done()?;
        let actions = k;
        let mut ins = Insert::new(
            c,
            "bench_actor",
            "k, user_id, label, api_id, integration_id, org_id, event_id",
        );
        // Each actor row: a user with an integration and an organization they deal with.
        let mut k = 0i64;
        let mut rng = Rng(11);
        for a in accounts.iter() {
            for u in std::iter::once(a.owner).chain(a.members.iter().copied()) {
                let integ = a.integrations.first().copied();
                let auth = integ
                    .and_then(|i| auths.iter().position(|x| x.integ == i))
                    .map(|x| &auths[x]);
                let org = auth.map(|x| x.org).unwrap_or_else(|| rng.below(orgs.len()));
                let integ = integ.unwrap_or_else(|| rng.below(integs.len()));
                ins.row(&[
                    k.to_string(),
                    q(&users[u].id),
                    q(&users[u].email),
                    q(&integs[integ].api_id),
                    q(&integs[integ].id),
                    q(&orgs[org].id),
                    q(&orgs[org].first_event),
                ])?;
                k += 1;
            }
        }
        for o in orgs.iter() {
            let integ = o
                .auths
                .first()
                .map(|a| auths[*a].integ)
                .unwrap_or_else(|| rng.below(integs.len()));
            ins.row(&[
                k.to_string(),
                q(&users[o.admins[0]].id),
                q(&users[o.admins[0]].email),
                q(&integs[integ].api_id),
                q(&integs[integ].id),
                q(&o.id),
                q(&o.first_event),
            ])?;
            k += 1;
        }
        ins.done()?;
        Ok((actions, k))
    })?;
    let t_audit = Instant::now();
    let mut audit_left = shape.audit_rows as i64;
    let occurred = |expr: &str| {
        if pg {
            format!("CAST({expr} AS TIMESTAMP)")
        } else {
            expr.to_string()
        }
    };
    for d in (0..shape.days).rev() {
        let dd = day(d);
        let mut count = if d == 0 {
            per_day * secs_today / 86_400
        } else {
            per_day
        };
        count = count.min(audit_left);
        if count <= 0 {
            continue;
        }
        audit_left -= count;
        let ms = (today - Duration::days(d))
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp_millis();
        let prefix = format!("{:08x}-{:04x}-7000-8000-", ms >> 16, ms & 0xffff);
        let when = occurred(&format!("'{dd} ' || n.hms"));
        db::write_tx(c, |c| {
            exec(
                c,
                &format!(
                    "INSERT INTO audit_log (id, occurred_at, actor_user_id, actor_label, action, \
                     target_type, target_id, details, client_ip, request_id) \
                     SELECT '{prefix}' || n.hex, {when}, \
                     CASE WHEN a.actor_kind = 'user' THEN u.user_id END, \
                     CASE WHEN a.actor_kind = 'api' THEN u.api_id ELSE u.label END, \
                     a.action, a.target_type, \
                     CASE a.target_type WHEN 'user' THEN u.user_id \
                     WHEN 'integration' THEN u.integration_id \
                     WHEN 'organization' THEN u.org_id WHEN 'event' THEN u.event_id END, \
                     a.details, \
                     '10.' || (n.n % 200) || '.' || (n.n % 251) || '.' || (n.n % 13 + 1), \
                     'bench-' || n.hex \
                     FROM bench_n n \
                     JOIN bench_action a ON a.k = (n.n * 7 + {d}) % {actions} \
                     JOIN bench_actor u ON u.k = (n.n * 31 + {d} * 17) % {actors} \
                     WHERE n.n < {count}"
                ),
            )
        })?;
        if d % 30 == 0 {
            eprintln!(
                "  audit_log: {} rows through {dd} ({:.0} s)",
                shape.audit_rows as i64 - audit_left,
                t_audit.elapsed().as_secs_f64()
            );
        }
    }
    eprintln!(
        "  audit_log: {} rows in {:.1} s",
        shape.audit_rows as i64 - audit_left,
        t_audit.elapsed().as_secs_f64()
    );
    exec(
        c,
        "DROP TABLE bench_n; DROP TABLE bench_action; DROP TABLE bench_actor;",
    )?;
    Ok(())
}
