//! Table definitions shared by both backends. Maintained by hand (see diesel.toml): only the
//! SQL types both SQLite and PostgreSQL support (Text, Integer, BigInt, Bool, Timestamp).

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        email_normalized -> Text,
        display_name -> Text,
        password_hash -> Nullable<Text>,
        is_concat_admin -> Bool,
        status -> Text,
        session_version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    developer_accounts (id) {
        id -> Text,
        company_name -> Text,
        website -> Text,
        created_at -> Timestamp,
        api_rate_limit -> Nullable<Integer>,
        status -> Text,
        suspended_at -> Nullable<Timestamp>,
        suspension_reason -> Nullable<Text>,
    }
}

diesel::table! {
    developer_members (account_id, user_id) {
        account_id -> Text,
        user_id -> Text,
        role -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    organizations (id) {
        id -> Text,
        public_id -> Text,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    organization_admins (organization_id, user_id) {
        organization_id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    one_time_tokens (token_hash) {
        token_hash -> Text,
        purpose -> Text,
        user_id -> Nullable<Text>,
        subject_id -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Text,
        email_normalized -> Text,
        client_ip -> Text,
        failed_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Text,
        occurred_at -> Timestamp,
        actor_user_id -> Nullable<Text>,
        actor_label -> Text,
        action -> Text,
        target_type -> Nullable<Text>,
        target_id -> Nullable<Text>,
        details -> Text,
        client_ip -> Nullable<Text>,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        dedup_key -> Text,
        kind -> Text,
        recipient -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        status -> Text,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        failure_kind -> Nullable<Text>,
        counted_failures -> Integer,
    }
}

diesel::table! {
    access_requests (id) {
        id -> Text,
        kind -> Text,
        status -> Text,
        requester_name -> Text,
        company_name -> Text,
        website -> Text,
        contact_email -> Text,
        contact_email_normalized -> Text,
        phone -> Nullable<Text>,
        app_name -> Text,
        use_case -> Text,
        event_customers -> Text,
        account_id -> Nullable<Text>,
        requested_by_user_id -> Nullable<Text>,
        client_ip -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        decided_at -> Nullable<Timestamp>,
        decided_by_user_id -> Nullable<Text>,
        rejection_reason -> Nullable<Text>,
        integration_id -> Nullable<Text>,
        confirmed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    access_request_messages (id) {
        id -> Text,
        request_id -> Text,
        author -> Text,
        author_user_id -> Nullable<Text>,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    integrations (id) {
        id -> Text,
        account_id -> Text,
        api_id -> Text,
        display_name -> Text,
        description -> Text,
        status -> Text,
        created_at -> Timestamp,
        approved_by_user_id -> Nullable<Text>,
        last_used_at -> Nullable<Timestamp>,
        activity_at -> Timestamp,
        inactivity_stage -> Integer,
        inactivity_exempt -> Bool,
        inactivity_warned_at -> Nullable<Timestamp>,
        deactivated_at -> Nullable<Timestamp>,
        retired_at -> Nullable<Timestamp>,
        retired_by_user_id -> Nullable<Text>,
    }
}

diesel::table! {
    api_secrets (id) {
        id -> Text,
        integration_id -> Text,
        prefix -> Text,
        digest -> Text,
        created_at -> Timestamp,
        created_by_user_id -> Nullable<Text>,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    events (id) {
        id -> Text,
        public_id -> Text,
        organization_id -> Text,
        name -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        time_zone -> Text,
        venue -> Text,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        changed_by_api_id -> Nullable<Text>,
    }
}

diesel::table! {
    authorizations (id) {
        id -> Text,
        organization_id -> Text,
        integration_id -> Text,
        scopes -> Text,
        status -> Text,
        authorized_at -> Timestamp,
        authorized_by_user_id -> Nullable<Text>,
        authorized_via -> Text,
        revoked_at -> Nullable<Timestamp>,
        revoked_by_user_id -> Nullable<Text>,
        revoked_via -> Nullable<Text>,
        deletion_due_at -> Nullable<Timestamp>,
        deletion_confirmed_at -> Nullable<Timestamp>,
        deletion_confirmed_by_user_id -> Nullable<Text>,
        deletion_note -> Nullable<Text>,
        last_used_at -> Nullable<Timestamp>,
        duty_stage -> Integer,
        deletion_overdue_at -> Nullable<Timestamp>,
        deletion_confirmed_via -> Nullable<Text>,
        usage_purged_at -> Nullable<Timestamp>,
        include_drafts -> Bool,
    }
}

diesel::table! {
    api_usage (day, api_id, organization_id, event_id, endpoint, status) {
        day -> Text,
        api_id -> Text,
        organization_id -> Text,
        event_id -> Text,
        endpoint -> Text,
        status -> Integer,
        requests -> BigInt,
        query_key_requests -> BigInt,
    }
}

diesel::table! {
    api_unverified_usage (day, api_id, endpoint, status) {
        day -> Text,
        api_id -> Text,
        endpoint -> Text,
        status -> Integer,
        requests -> BigInt,
        query_key_requests -> BigInt,
    }
}

diesel::table! {
    api_usage_daily (api_id, day, organization_id) {
        api_id -> Text,
        day -> Text,
        organization_id -> Text,
        requests -> BigInt,
        requests_3xx -> BigInt,
        requests_4xx -> BigInt,
        requests_5xx -> BigInt,
        failed_auth -> BigInt,
        query_key_requests -> BigInt,
    }
}

diesel::table! {
    api_usage_days (day) {
        day -> Text,
        requests -> BigInt,
        failed_auth -> BigInt,
    }
}

diesel::table! {
    api_usage_totals (api_id) {
        api_id -> Text,
        requests -> BigInt,
        errors -> BigInt,
        failed_auth -> BigInt,
        query_key_requests -> BigInt,
    }
}

diesel::table! {
    api_usage_window (id) {
        id -> Integer,
        from_day -> Text,
        through_day -> Text,
    }
}

diesel::table! {
    reactivation_requests (id) {
        id -> Text,
        integration_id -> Text,
        requested_by_user_id -> Text,
        reason -> Text,
        status -> Text,
        created_at -> Timestamp,
        decided_at -> Nullable<Timestamp>,
        decided_by_user_id -> Nullable<Text>,
        decision_note -> Nullable<Text>,
    }
}

diesel::table! {
    job_runs (id) {
        id -> Text,
        job -> Text,
        trigger -> Text,
        as_of -> Timestamp,
        duration_ms -> BigInt,
        outcome -> Text,
        counts -> Text,
        error -> Nullable<Text>,
        finished_at -> Timestamp,
    }
}

diesel::table! {
    invitations (id) {
        id -> Text,
        kind -> Text,
        target_id -> Nullable<Text>,
        role -> Nullable<Text>,
        email -> Text,
        email_normalized -> Text,
        name -> Text,
        status -> Text,
        invited_by_user_id -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        decided_at -> Nullable<Timestamp>,
        decided_by_user_id -> Nullable<Text>,
    }
}

diesel::table! {
    passkeys (id) {
        id -> Text,
        user_id -> Text,
        name -> Text,
        credential_id -> Text,
        passkey -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    totp_factors (user_id) {
        user_id -> Text,
        secret_sealed -> Text,
        last_used_step -> Nullable<BigInt>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> Text,
        user_id -> Text,
        code_hash -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webauthn_ceremonies (id) {
        id -> Text,
        user_id -> Nullable<Text>,
        kind -> Text,
        state -> Text,
        client_ip -> Text,
        expires_at -> Timestamp,
    }
}

diesel::joinable!(events -> organizations (organization_id));
diesel::joinable!(authorizations -> organizations (organization_id));
diesel::joinable!(authorizations -> integrations (integration_id));
diesel::joinable!(access_request_messages -> access_requests (request_id));
diesel::joinable!(integrations -> developer_accounts (account_id));
diesel::joinable!(api_secrets -> integrations (integration_id));
diesel::joinable!(developer_members -> developer_accounts (account_id));
diesel::joinable!(developer_members -> users (user_id));
diesel::joinable!(organization_admins -> organizations (organization_id));
diesel::joinable!(organization_admins -> users (user_id));
diesel::joinable!(one_time_tokens -> users (user_id));
diesel::joinable!(reactivation_requests -> integrations (integration_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    passkeys,
    totp_factors,
    recovery_codes,
    webauthn_ceremonies,
    developer_accounts,
    developer_members,
    organizations,
    organization_admins,
    one_time_tokens,
    login_failures,
    audit_log,
    outbox,
    access_requests,
    access_request_messages,
    integrations,
    api_secrets,
    events,
    authorizations,
    api_usage,
    api_unverified_usage,
    api_usage_daily,
    api_usage_days,
    api_usage_totals,
    api_usage_window,
    reactivation_requests,
    job_runs,
    invitations,
);
