-- The benchmark's production database: inventory/lab-seed.sql's app schema (users with emails, names, phones;
-- events, orders, payment methods, sessions), scaled up to ~1 GB on disk with the indexes and foreign keys an
-- app would have. Run as postgres on br-prod: `psql -d app -v ON_ERROR_STOP=1 -v rows=1000000 -f seed.sql`.
-- :rows users (default 1,000,000); events 5x, orders 2x, payment_methods 1/2, sessions 1/3 of that.
\if :{?rows}
\else
  \set rows 1000000
\endif
SET ROLE app;
SET synchronous_commit = off;
CREATE TABLE users (
  id bigserial PRIMARY KEY,
  email text NOT NULL UNIQUE,
  full_name text NOT NULL,
  phone text,
  password_hash text NOT NULL,
  role text NOT NULL DEFAULT 'user',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE events (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL, kind text NOT NULL, user_id bigint);
CREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint NOT NULL, total_cents int NOT NULL, shipping_address text,
  created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE payment_methods (id bigserial PRIMARY KEY, user_id bigint NOT NULL, card_number text NOT NULL, expires text);
CREATE TABLE sessions (id bigserial PRIMARY KEY, user_id bigint NOT NULL, token text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now());

INSERT INTO users (email, full_name, phone, password_hash, role)
VALUES ('dev@example.com', 'Dana Developer', '+1 415 555 0100', '$2b$12$devdevdevdevdevdevdevdeO', 'user'),
       ('qa@example.com', 'Quinn Tester', '+1 415 555 0101', '$2b$12$qaqaqaqaqaqaqaqaqaqaqaO', 'user');
INSERT INTO users (email, full_name, phone, password_hash, created_at)
SELECT format('%s.%s%s@%s', (ARRAY['anna','ben','carla','dmitri','emma','farid','grace','hugo'])[1 + g % 8],
              (ARRAY['smith','garcia','müller','rossi','tanaka','okafor','novak'])[1 + g % 7], g,
              (ARRAY['gmail.com','outlook.com','yahoo.fr','web.de'])[1 + g % 4]),
       initcap((ARRAY['anna','ben','carla','dmitri','emma','farid','grace','hugo'])[1 + g % 8]) || ' ' ||
       initcap((ARRAY['smith','garcia','müller','rossi','tanaka','okafor','novak'])[1 + g % 7]),
       format('+44 20 7946 %s', lpad((g % 10000)::text, 4, '0')),
       '$2b$12$' || md5(g::text) || md5((g * 7)::text),
       now() - (g || ' seconds')::interval * 30
  FROM generate_series(1, :rows) g;
INSERT INTO events (created_at, kind, user_id)
SELECT now() - (g || ' seconds')::interval, (ARRAY['login','order','logout','refund'])[1 + g % 4], 1 + g % :rows
  FROM generate_series(1, :rows * 5) g;
INSERT INTO orders (user_id, total_cents, shipping_address, created_at)
SELECT 1 + g % :rows, 100 + g % 9000, format('%s Baker Street, London NW1 %sXE', g, g % 9), now() - (g || ' seconds')::interval * 2
  FROM generate_series(1, :rows * 2) g;
-- card numbers that pass the Luhn check (4111 1111 1111 1111 and friends)
INSERT INTO payment_methods (user_id, card_number, expires)
SELECT 1 + g % :rows, (ARRAY['4111111111111111','5500005555555559','340000000000009','6011000000000004'])[1 + g % 4], '12/29'
  FROM generate_series(1, :rows / 2) g;
INSERT INTO sessions (user_id, token) SELECT 1 + g % :rows, md5(random()::text) || md5(random()::text) FROM generate_series(1, :rows / 3) g;

CREATE INDEX events_user_id ON events (user_id);
CREATE INDEX events_created_at ON events (created_at);
CREATE INDEX orders_user_id ON orders (user_id);
CREATE INDEX payment_methods_user_id ON payment_methods (user_id);
CREATE INDEX sessions_user_id ON sessions (user_id);
ALTER TABLE events ADD FOREIGN KEY (user_id) REFERENCES users (id);
ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users (id);
ALTER TABLE payment_methods ADD FOREIGN KEY (user_id) REFERENCES users (id);
ALTER TABLE sessions ADD FOREIGN KEY (user_id) REFERENCES users (id);
RESET ROLE;
ANALYZE users, events, orders, payment_methods, sessions;
SELECT pg_size_pretty(pg_database_size(current_database())) AS database_size;
