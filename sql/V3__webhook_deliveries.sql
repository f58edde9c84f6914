-- Webhook deliveries already applied (Svix `svix-id`, Stripe event id), so that a
-- repeated delivery is acknowledged without being applied twice.
CREATE TABLE webhook_deliveries (
    source       text NOT NULL CHECK (source IN ('clerk', 'stripe')),
    delivery_id  text NOT NULL CHECK (char_length(delivery_id) BETWEEN 1 AND 255),
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, delivery_id)
);
