"""Money: the wallet ledger, payments and their callbacks, holds and settlement, refunds, coupons."""
