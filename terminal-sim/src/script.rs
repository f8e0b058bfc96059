//! The scripted and interactive modes. A script has one command per line (`#` starts a comment):
//!
//! ```text
//! logon
//! purchase PAN PIN SKU*QTY*PRICE [SKU*QTY*PRICE …]     # PRICE per unit in rupiah
//! cash PAN PIN AMOUNT                                  # a cash withdrawal attempt
//! cashback PAN PIN SKU*QTY*PRICE …                     # a purchase with cash-back attempt
//! balance PAN PIN
//! refund PAN STAN AMOUNT [YYYY-MM-DD]                  # return this terminal's purchase to the card
//! event PAPER_OUT|PAPER_LOADED|CARD_READ_ERROR|POWER_ON
//! batch [YYYY-MM-DD]                                   # batch totals for the day (default today)
//! power-loss                                           # the power goes; restart from the state file
//! ```
//!
//! Each command prints one JSON report on standard output.

use std::path::Path;

use anyhow::{bail, Context};
use terminal_link::messages::{BasketLine, DeviceEventKind, ProcessingCode};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::{
    faults::FaultArgs,
    open_line,
    paced::Paced,
    terminal::{PowerLost, Report, Terminal},
    Line, LineArgs,
};

/// One parsed command. Its `Debug` masks card numbers and leaves PINs out.
#[derive(Clone, PartialEq)]
pub enum Command {
    Logon,
    Purchase {
        processing: ProcessingCode,
        pan: String,
        pin: String,
        basket: Vec<BasketLine>,
    },
    Balance {
        pan: String,
        pin: String,
    },
    Refund {
        pan: String,
        stan: u32,
        amount_minor: i64,
        date: Option<chrono::NaiveDate>,
    },
    Event(DeviceEventKind),
    Batch(Option<chrono::NaiveDate>),
    PowerLoss,
    /// A payload sent as it is (hex), well-formed or not: for conformance vectors.
    Raw(Vec<u8>),
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use terminal_link::messages::masked_pan;
        match self {
            Command::Logon => f.write_str("Logon"),
            Command::Purchase {
                processing,
                pan,
                basket,
                ..
            } => f
                .debug_struct("Purchase")
                .field("processing", processing)
                .field("pan", &masked_pan(pan))
                .field("pin", &"(hidden)")
                .field("basket", basket)
                .finish(),
            Command::Balance { pan, .. } => f
                .debug_struct("Balance")
                .field("pan", &masked_pan(pan))
                .field("pin", &"(hidden)")
                .finish(),
            Command::Refund {
                pan,
                stan,
                amount_minor,
                date,
            } => f
                .debug_struct("Refund")
                .field("pan", &masked_pan(pan))
                .field("stan", stan)
                .field("amount_minor", amount_minor)
                .field("date", date)
                .finish(),
            Command::Event(kind) => f.debug_tuple("Event").field(kind).finish(),
            Command::Batch(date) => f.debug_tuple("Batch").field(date).finish(),
            Command::PowerLoss => f.write_str("PowerLoss"),
            Command::Raw(bytes) => write!(f, "Raw({} bytes)", bytes.len()),
        }
    }
}

pub fn parse(line: &str) -> anyhow::Result<Option<Command>> {
    let line = line.split('#').next().unwrap_or("").trim();
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some((&verb, args)) = words.split_first() else {
        return Ok(None);
    };
    let command = match (verb, args) {
        ("logon", []) => Command::Logon,
        ("purchase" | "cashback", [pan, pin, items @ ..]) if !items.is_empty() => {
            Command::Purchase {
                processing: if verb == "purchase" {
                    ProcessingCode::Purchase
                } else {
                    ProcessingCode::PurchaseWithCashBack
                },
                pan: pan.to_string(),
                pin: pin.to_string(),
                basket: items
                    .iter()
                    .map(|item| basket_line(item))
                    .collect::<anyhow::Result<_>>()?,
            }
        }
        ("cash", [pan, pin, amount]) => Command::Purchase {
            processing: ProcessingCode::CashWithdrawal,
            pan: pan.to_string(),
            pin: pin.to_string(),
            basket: vec![BasketLine {
                sku: "CASH".into(),
                quantity: 1,
                unit_price_minor: rupiah(amount)?,
            }],
        },
        ("balance", [pan, pin]) => Command::Balance {
            pan: pan.to_string(),
            pin: pin.to_string(),
        },
        ("refund", [pan, stan, amount, rest @ ..]) if rest.len() <= 1 => Command::Refund {
            pan: pan.to_string(),
            stan: stan.parse().context("STAN")?,
            amount_minor: rupiah(amount)?,
            date: rest
                .first()
                .map(|date| chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d"))
                .transpose()
                .context("refund date")?,
        },
        ("event", [kind]) => Command::Event(
            DeviceEventKind::parse(kind).with_context(|| format!("unknown event {kind}"))?,
        ),
        ("batch", []) => Command::Batch(None),
        ("batch", [date]) => Command::Batch(Some(
            chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").context("batch date")?,
        )),
        ("power-loss", []) => Command::PowerLoss,
        ("raw", [payload]) => Command::Raw(hex::decode(payload).context("raw payload hex")?),
        _ => bail!("cannot read the command {line:?}"),
    };
    Ok(Some(command))
}

/// Rupiah as the operator types them (`13500`, `13500.5`, `13500.50`), in minor units (sen).
fn rupiah(text: &str) -> anyhow::Result<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > 2 {
        bail!("{text}: an amount is rupiah with at most two decimals, such as 13500.50");
    }
    let sen: i64 = format!("{fraction:0<2}").parse()?;
    let minor = whole
        .parse::<i64>()
        .ok()
        .and_then(|rupiah| rupiah.checked_mul(100))
        .and_then(|minor| minor.checked_add(sen))
        .filter(|minor| *minor > 0)
        .with_context(|| format!("{text}: not an amount above zero that fits"))?;
    Ok(minor)
}

/// `SKU*QTY*PRICE`.
pub fn basket_line(item: &str) -> anyhow::Result<BasketLine> {
    let [sku, quantity, price] = item.split('*').collect::<Vec<_>>()[..] else {
        bail!("a basket item is SKU*QUANTITY*PRICE, not {item:?}");
    };
    Ok(BasketLine {
        sku: sku.to_string(),
        quantity: quantity.parse().context("quantity")?,
        unit_price_minor: rupiah(price)?,
    })
}

/// The simulator's one terminal, restartable after a power cut.
pub struct Session {
    line: LineArgs,
    faults: FaultArgs,
    restarts: u64,
    pub terminal: Terminal<Paced<Line>>,
}

impl Session {
    pub fn start(line: &LineArgs, faults: &FaultArgs) -> anyhow::Result<Self> {
        let opened = open_line(line.device.as_ref(), line.pty_link.as_ref(), line.baud)?;
        let terminal = crate::terminal(
            line,
            faults,
            0,
            opened,
            &line.terminal_id,
            line.state.as_ref(),
        )?;
        Ok(Self {
            line: line.clone(),
            faults: faults.clone(),
            restarts: 0,
            terminal,
        })
    }

    /// The power comes back: a new line (the old one closed with the power) and the state file.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.restarts += 1;
        let opened = open_line(
            self.line.device.as_ref(),
            self.line.pty_link.as_ref(),
            self.line.baud,
        )?;
        // A pseudo-terminal is new: wait until the gateway has noticed the old one is gone and
        // opened this one (a serial port stays where it is).
        if let crate::Line::Pty(pty) = &opened {
            if !pty
                .wait_until_opened(std::time::Duration::from_secs(10))
                .await
            {
                eprintln!(
                    "terminal-sim: nobody opened {} within 10 s",
                    pty.slave_path.display()
                );
            }
        }
        self.terminal = crate::terminal(
            &self.line,
            &self.faults,
            self.restarts,
            opened,
            &self.line.terminal_id,
            self.line.state.as_ref(),
        )?;
        Ok(())
    }

    pub async fn run(&mut self, command: Command) -> anyhow::Result<Report> {
        let result = match command {
            Command::Logon => self.terminal.logon().await,
            Command::Purchase {
                processing,
                pan,
                pin,
                basket,
            } => self.terminal.purchase(processing, &pan, &pin, basket).await,
            Command::Balance { pan, pin } => self.terminal.balance(&pan, &pin).await,
            Command::Refund {
                pan,
                stan,
                amount_minor,
                date,
            } => {
                let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
                self.terminal
                    .refund(&pan, stan, date.unwrap_or(today), amount_minor)
                    .await
            }
            Command::Event(kind) => self.terminal.device_event(kind).await,
            Command::Raw(payload) => self.terminal.raw(&payload).await,
            Command::Batch(date) => {
                let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
                self.terminal.batch_close(date.unwrap_or(today)).await
            }
            Command::PowerLoss => Err(PowerLost.into()),
        };
        match result {
            Err(error) if error.downcast_ref::<PowerLost>().is_some() => {
                self.restart().await?;
                let recovered = self.terminal.recover().await?;
                let mut report = Report::power_lost();
                report.note = Some(if recovered {
                    "restarted; nothing owed to the host".into()
                } else {
                    "restarted; an advice is still owed to the host".into()
                });
                Ok(report)
            }
            other => other,
        }
    }
}

pub async fn run_file(line: &LineArgs, faults: &FaultArgs, file: &Path) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let commands: Vec<Command> = text
        .lines()
        .enumerate()
        .filter_map(|(index, line)| {
            parse(line)
                .with_context(|| format!("{}:{}", file.display(), index + 1))
                .transpose()
        })
        .collect::<anyhow::Result<_>>()?;
    let mut session = Session::start(line, faults)?;
    for command in commands {
        let report = session.run(command).await?;
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(())
}

pub async fn interactive(line: &LineArgs, faults: &FaultArgs) -> anyhow::Result<()> {
    let mut session = Session::start(line, faults)?;
    let mut input = BufReader::new(tokio::io::stdin()).lines();
    println!(
        "Terminal {} siap. Perintah: belanja, saldo, batch, keluar",
        line.terminal_id
    );
    loop {
        println!("> ");
        let Some(choice) = input.next_line().await? else {
            return Ok(());
        };
        let command = match choice.trim() {
            "belanja" | "purchase" => {
                println!("Nomor kartu:");
                let pan = input.next_line().await?.unwrap_or_default();
                println!("PIN:");
                let pin = input.next_line().await?.unwrap_or_default();
                println!("Barang (SKU*jumlah*harga, dipisah spasi), mis. BERAS-MEDIUM*5*13500:");
                let items = input.next_line().await?.unwrap_or_default();
                parse(&format!(
                    "purchase {} {} {}",
                    pan.trim(),
                    pin.trim(),
                    items.trim()
                ))
            }
            "saldo" | "balance" => {
                println!("Nomor kartu:");
                let pan = input.next_line().await?.unwrap_or_default();
                println!("PIN:");
                let pin = input.next_line().await?.unwrap_or_default();
                parse(&format!("balance {} {}", pan.trim(), pin.trim()))
            }
            "batch" => parse("batch"),
            "keluar" | "exit" | "quit" => return Ok(()),
            "" => continue,
            other => parse(other),
        };
        match command {
            Ok(Some(command)) => {
                let report = session.run(command).await?;
                println!("{}", display(&report));
            }
            Ok(None) => {}
            Err(error) => println!("Perintah tidak dikenal: {error}"),
        }
    }
}

/// What the terminal's screen shows.
fn display(report: &Report) -> String {
    let money = |minor: i64| {
        let sign = if minor < 0 { "-" } else { "" };
        let sen = minor.unsigned_abs();
        format!("Rp {sign}{}.{:02}", sen / 100, sen % 100)
    };
    let mut text = format!(
        "[{}] {}",
        report.code.as_deref().unwrap_or("--"),
        report.display.as_deref().unwrap_or(report.outcome)
    );
    if report.outcome == "approved" && report.amount_minor > 0 {
        text.push_str(&format!(" — belanja {}", money(report.amount_minor)));
    }
    if let Some(balance) = report.balance_minor {
        text.push_str(&format!(" — sisa saldo {}", money(balance)));
    }
    if let Some(rrn) = &report.rrn {
        text.push_str(&format!(" — RRN {rrn}"));
    }
    if let Some(note) = &report.note {
        text.push_str(&format!(" ({note})"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_prints_no_card_number_or_pin() {
        for line in [
            "purchase 6019010000000001 482913 BERAS-MEDIUM*5*13500",
            "balance 6019010000000001 482913",
        ] {
            let command = parse(line).unwrap().unwrap();
            let shown = format!("{command:?}");
            assert!(!shown.contains("601901000000"), "{shown}");
            assert!(!shown.contains("482913"), "{shown}");
            assert!(shown.contains("0001"), "{shown}");
        }
    }

    #[test]
    fn amounts_are_rupiah_with_at_most_two_decimals() {
        assert_eq!(rupiah("13500").unwrap(), 1_350_000);
        assert_eq!(rupiah("13500.5").unwrap(), 1_350_050);
        assert_eq!(rupiah("0.01").unwrap(), 1);
        for bad in [
            "",
            "0",
            "1.234",
            "-5",
            "1e3",
            "12,5",
            ".5",
            "99999999999999999999",
        ] {
            assert!(rupiah(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn commands_are_read_as_documented() {
        let Some(Command::Purchase {
            basket, processing, ..
        }) = parse("purchase 6019010000000001 123456 BERAS-MEDIUM*5*13500 # rice").unwrap()
        else {
            panic!("a purchase")
        };
        assert_eq!(processing, ProcessingCode::Purchase);
        assert_eq!(basket[0].quantity, 5);
        assert_eq!(basket[0].unit_price_minor, 1_350_000);
        assert_eq!(parse("   # nothing").unwrap(), None);
        assert!(parse("purchase 1 2").is_err());
        assert!(matches!(
            parse("cash 6019010000000001 123456 50000").unwrap(),
            Some(Command::Purchase {
                processing: ProcessingCode::CashWithdrawal,
                ..
            })
        ));
    }
}
