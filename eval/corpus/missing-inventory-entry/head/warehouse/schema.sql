-- The warehouse's tables.
create table warehouse.customers (
    id bigint primary key,
    name text not null,
    email text not null,
    created_at timestamptz not null default now()
);

create table warehouse.support_tickets (
    id bigint primary key,
    customer_email text not null,
    customer_phone text,
    body text not null,
    opened_at timestamptz not null
);
