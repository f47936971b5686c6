//! DynamoDB numbers: exact decimals of up to 38 significant digits.
