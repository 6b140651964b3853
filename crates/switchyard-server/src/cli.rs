//! Command-line interface. Flags override `SWITCHYARD_*` variables, which override the
//! config file (see `switchyard_core::config`).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use switchyard_core::config::Overrides;

#[derive(Debug, Parser)]
#[command(name = "switchyard", version, about = "Self-hosted LLM API gateway")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway.
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML config file (also SWITCHYARD_CONFIG).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on (also SWITCHYARD_HOST; default 127.0.0.1).
    #[arg(long, value_name = "H")]
    pub host: Option<String>,
    /// Port to listen on (also SWITCHYARD_PORT; default 8045).
    #[arg(long, value_name = "P")]
    pub port: Option<u16>,
    /// Data directory (also SWITCHYARD_DATA_DIR; default $XDG_DATA_HOME/switchyard).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

impl ServeArgs {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            config_file: self.config.clone(),
            host: self.host.clone(),
            port: self.port,
            data_dir: self.data_dir.clone(),
        }
    }
}
