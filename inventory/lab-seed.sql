-- Demo data for the lab's production database (db-prod, database app): realistic personal data that the
-- staging refresh must scrub. Run as the app role: `psql -d app -v ON_ERROR_STOP=1 -f lab-seed.sql`.
-- :rows scales it (default 1000 users); every other table follows.
\if :{?rows}
\else
  \set rows 1000
\endif
SET ROLE app;
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
CREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint NOT NULL, total_cents int NOT NULL, shipping_address text);
CREATE TABLE payment_methods (id bigserial PRIMARY KEY, user_id bigint NOT NULL, card_number text NOT NULL, expires text);
CREATE TABLE sessions (id bigserial PRIMARY KEY, user_id bigint NOT NULL, token text NOT NULL);

INSERT INTO users (email, full_name, phone, password_hash, role)
VALUES ('dev@example.com', 'Dana Developer', '+1 415 555 0100', '$2b$12$devdevdevdevdevdevdevdeO', 'user'),
       ('qa@example.com', 'Quinn Tester', '+1 415 555 0101', '$2b$12$qaqaqaqaqaqaqaqaqaqaqaO', 'user');
INSERT INTO users (email, full_name, phone, password_hash)
SELECT format('%s.%s%s@%s', (ARRAY['anna','ben','carla','dmitri','emma','farid','grace','hugo'])[1 + g % 8],
              (ARRAY['smith','garcia','müller','rossi','tanaka','okafor','novak'])[1 + g % 7], g,
              (ARRAY['gmail.com','outlook.com','yahoo.fr','web.de'])[1 + g % 4]),
       initcap((ARRAY['anna','ben','carla','dmitri','emma','farid','grace','hugo'])[1 + g % 8]) || ' ' ||
       initcap((ARRAY['smith','garcia','müller','rossi','tanaka','okafor','novak'])[1 + g % 7]),
       format('+44 20 7946 %s', lpad((g % 10000)::text, 4, '0')),
       '$2b$12$' || md5(g::text)
  FROM generate_series(1, :rows) g;
INSERT INTO events (created_at, kind, user_id)
SELECT now() - (g || ' minutes')::interval, (ARRAY['login','order','logout','refund'])[1 + g % 4], 1 + g % :rows
  FROM generate_series(1, :rows * 5) g;
INSERT INTO orders (user_id, total_cents, shipping_address)
SELECT 1 + g % :rows, 100 + g % 9000, format('%s Baker Street, London NW1 %sXE', g, g % 9) FROM generate_series(1, :rows * 2) g;
-- card numbers that pass the Luhn check (4111 1111 1111 1111 and friends)
INSERT INTO payment_methods (user_id, card_number, expires)
SELECT 1 + g % :rows, (ARRAY['4111111111111111','5500005555555559','340000000000009','6011000000000004'])[1 + g % 4], '12/29'
  FROM generate_series(1, :rows / 2) g;
INSERT INTO sessions (user_id, token) SELECT 1 + g % :rows, md5(random()::text) FROM generate_series(1, :rows / 3) g;
