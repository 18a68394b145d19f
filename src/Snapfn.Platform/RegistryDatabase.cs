using Microsoft.Data.Sqlite;

namespace Snapfn.Platform;

/// <summary>
/// The SQLite file under $SNAPFN_HOME that holds the function registry and the invocation log. WAL journal:
/// readers never block the writer, and a transaction is on disk (in the WAL) once its commit returns, so a killed
/// daemon loses nothing it had committed.
/// </summary>
public sealed class RegistryDatabase
{
    public const string FileName = "registry.db";
    private const int SchemaVersion = 1;
    private readonly string _connectionString;

    private RegistryDatabase(string path)
    {
        Path = path;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            ForeignKeys = true,
            Pooling = true,
            // Seconds a statement waits for another connection's (another process's) write lock.
            DefaultTimeout = 30,
        }.ToString();
    }

    public string Path { get; }

    /// <summary>Opens (creating or upgrading) the database in <paramref name="home"/>.</summary>
    public static RegistryDatabase Open(SnapfnHome home)
    {
        ArgumentNullException.ThrowIfNull(home);
        Directory.CreateDirectory(home.Path);
        var database = new RegistryDatabase(System.IO.Path.Combine(home.Path, FileName));
        database.Migrate();
        return database;
    }

    /// <summary>A connection for registry changes: every commit is fsynced (synchronous=FULL), because a function,
    /// snapshot or recording row names files that already exist and must not be forgotten on power loss.</summary>
    public SqliteConnection OpenDurable() => Open("FULL");

    /// <summary>A connection for the invocation log: commits survive a killed process without an fsync each
    /// (synchronous=NORMAL in WAL mode); only a power loss can take the last few.</summary>
    public SqliteConnection OpenForLog() => Open("NORMAL");

    private SqliteConnection Open(string synchronous)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            Execute(connection, $"PRAGMA synchronous = {synchronous};");
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        command.ExecuteNonQuery();
    }

    private void Migrate()
    {
        using var connection = OpenDurable();
        Execute(connection, "PRAGMA journal_mode = WAL;");
        using var transaction = connection.BeginTransaction();
        using var version = connection.CreateCommand();
        version.Transaction = transaction;
        version.CommandText = "PRAGMA user_version;";
        var current = Convert.ToInt32(version.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        if (current > SchemaVersion)
            throw new InvalidOperationException($"{Path} has schema version {current}, newer than this Snapfn ({SchemaVersion}): upgrade Snapfn");
        if (current < 1)
            Execute(connection, Schema1, transaction);
        // Columns added since schema 1 are added where missing rather than under a new version number, so that
        // changes made on parallel branches compose (each adds its own columns) and an older registry upgrades.
        foreach (var (table, column, declaration) in _addedColumns)
            AddColumnIfMissing(connection, transaction, table, column, declaration);
        Execute(connection, $"PRAGMA user_version = {SchemaVersion};", transaction);
        transaction.Commit();
    }

    /// <summary>Columns added after schema 1: (table, column, declaration with its default for existing rows).</summary>
    private static readonly (string Table, string Column, string Declaration)[] _addedColumns =
    [
        // The version (stat) of a built-in's files when its SHA-256 was computed: an unchanged built-in is not hashed again.
        ("functions", "code_stamp", "TEXT"),
        // snapfn.json's keep_state (the VM is kept as it is between requests) and max_instances (null: the platform's default).
        ("functions", "keep_state", "INTEGER NOT NULL DEFAULT 0"),
        ("functions", "max_instances", "INTEGER"),
    ];

    private static void AddColumnIfMissing(SqliteConnection connection, SqliteTransaction transaction, string table, string column, string declaration)
    {
        using var columns = connection.CreateCommand();
        columns.Transaction = transaction;
        columns.CommandText = $"SELECT 1 FROM pragma_table_info('{table}') WHERE name = $column";
        columns.Parameters.AddWithValue("$column", column);
        if (columns.ExecuteScalar() is null)
            Execute(connection, $"ALTER TABLE {table} ADD COLUMN {column} {declaration};", transaction);
    }

    private const string Schema1 = """
        CREATE TABLE functions (
            name          TEXT PRIMARY KEY,
            kind          TEXT NOT NULL CHECK (kind IN ('builtin', 'user')),
            elf_path      TEXT NOT NULL,
            elf_sha256    TEXT NOT NULL,
            memory_mib    INTEGER NOT NULL,
            description   TEXT NOT NULL,
            is_test       INTEGER NOT NULL,
            registered_at TEXT NOT NULL
        );
        CREATE TABLE snapshots (
            function        TEXT PRIMARY KEY REFERENCES functions(name) ON DELETE CASCADE,
            snapshot_id     TEXT NOT NULL,
            elf_sha256      TEXT NOT NULL,
            state_sha256    TEXT NOT NULL,
            memory_file     TEXT NOT NULL,
            memory_mib      INTEGER NOT NULL,
            allocated_bytes INTEGER NOT NULL,
            data_pages      INTEGER NOT NULL,
            taken_at        TEXT NOT NULL
        );
        CREATE TABLE recordings (
            function    TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
            mode        TEXT NOT NULL,
            snapshot_id TEXT NOT NULL,
            path        TEXT NOT NULL,
            sha256      TEXT NOT NULL,
            pages       INTEGER NOT NULL,
            regions     INTEGER NOT NULL,
            file_bytes  INTEGER NOT NULL,
            recorded_at TEXT NOT NULL,
            PRIMARY KEY (function, mode)
        );
        -- Not tied to functions: the log outlives a deleted function.
        CREATE TABLE invocations (
            id           INTEGER PRIMARY KEY AUTOINCREMENT,
            function     TEXT NOT NULL,
            mode         TEXT NOT NULL,
            started_at   TEXT NOT NULL,
            outcome      TEXT NOT NULL,
            error        TEXT,
            input_bytes  INTEGER NOT NULL,
            output_bytes INTEGER NOT NULL,
            restore_ms   REAL,
            execute_ms   REAL,
            total_ms     REAL NOT NULL
        );
        CREATE INDEX invocations_by_function ON invocations (function, id);
        """;
}
