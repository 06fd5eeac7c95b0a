"""The pure core: work facts, the points policy, periods and the directory. No I/O, no clock."""
