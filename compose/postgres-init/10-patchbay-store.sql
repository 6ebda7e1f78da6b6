-- Run once by the postgres image when its data volume is new: Patchbay's record store is a database
-- of its own beside Temporal's (the worker applies the store's schema migrations at start).
CREATE DATABASE patchbay OWNER temporal;
