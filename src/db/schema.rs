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
    }
}

diesel::joinable!(developer_members -> developer_accounts (account_id));
diesel::joinable!(developer_members -> users (user_id));
diesel::joinable!(organization_admins -> organizations (organization_id));
diesel::joinable!(organization_admins -> users (user_id));
diesel::joinable!(one_time_tokens -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    developer_accounts,
    developer_members,
    organizations,
    organization_admins,
    one_time_tokens,
    login_failures,
    audit_log,
    outbox,
);
