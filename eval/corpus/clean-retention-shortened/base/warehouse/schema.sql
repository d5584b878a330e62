-- The warehouse's tables.
create table warehouse.customers (
    id bigint primary key,
    name text not null,
    email text not null,
    created_at timestamptz not null default now()
);
