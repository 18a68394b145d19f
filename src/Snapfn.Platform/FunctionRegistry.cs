using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Snapfn.Platform;

/// <summary>
/// The registered functions (built-in and user), their snapshots and recordings, in <see cref="RegistryDatabase"/>.
/// Each change is one transaction; files it names are written (and flushed) before the row that names them.
/// </summary>
public sealed class FunctionRegistry
{
    private const string BuiltIn = "builtin";
    private const string User = "user";
    private readonly RegistryDatabase _database;
    private long _hashed;
    private long _reads;

    public FunctionRegistry(RegistryDatabase database)
    {
        _database = database;
    }

    /// <summary>Makes the built-in rows match the catalog: new ELFs are added, rebuilt ones updated, vanished ones
    /// removed. A user function that already holds a built-in's name keeps it. Writes nothing when all match.
    /// A built-in whose files have the version (<see cref="GuestPrograms.CodeStamp"/>: inode, size, modification
    /// time) they had when it was last hashed keeps its stored SHA-256: a start hashes only what changed, not the
    /// ~30 built-ins (Python folders with the shim) every time.</summary>
    public void SyncBuiltIns(FunctionCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        using var connection = _database.OpenDurable();
        var existing = new Dictionary<string, (string ElfPath, string Sha256, string Description, bool IsTestGuest, FunctionSettings Settings)>(StringComparer.Ordinal);
        var stamps = new Dictionary<string, string?>(StringComparer.Ordinal);
        var taken = new HashSet<string>(StringComparer.Ordinal);
        using (var select = Command(connection, null,
            "SELECT name, kind, elf_path, elf_sha256, description, is_test, code_stamp, keep_state, max_instances FROM functions"))
        using (var reader = select.ExecuteReader())
        {
            while (reader.Read())
            {
                if (reader.GetString(1) == BuiltIn)
                {
                    existing[reader.GetString(0)] = (reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetBoolean(5),
                        new FunctionSettings { KeepState = reader.GetBoolean(7), MaxInstances = reader.IsDBNull(8) ? null : reader.GetInt32(8) });
                    stamps[reader.GetString(0)] = reader.IsDBNull(6) ? null : reader.GetString(6);
                }
                else
                {
                    taken.Add(reader.GetString(0));
                }
            }
        }
        var wanted = new Dictionary<string, (string ElfPath, string Sha256, string Description, bool IsTestGuest, FunctionSettings Settings)>(StringComparer.Ordinal);
        var wantedStamps = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var f in catalog.List())
        {
            var stamp = GuestPrograms.CodeStamp(f);
            var sha = existing.TryGetValue(f.Name, out var known) && known.ElfPath == f.CodePath && stamps[f.Name] == stamp
                ? known.Sha256
                : Hash(f);
            wanted[f.Name] = (f.CodePath, sha, f.Description, f.IsTestGuest, BuiltInSettings(f));
            wantedStamps[f.Name] = stamp;
        }
        var changed = wanted.Where(w => !taken.Contains(w.Key) &&
            (!existing.TryGetValue(w.Key, out var e) || e != w.Value || stamps[w.Key] != wantedStamps[w.Key])).ToList();
        var vanished = existing.Keys.Where(name => !wanted.ContainsKey(name)).ToList();
        if (changed.Count == 0 && vanished.Count == 0)
            return;

        using var transaction = connection.BeginTransaction();
        var now = Now();
        foreach (var (name, function) in changed)
        {
            using var upsert = Command(connection, transaction, """
                INSERT INTO functions (name, kind, elf_path, elf_sha256, memory_mib, description, is_test, registered_at, code_stamp, keep_state, max_instances)
                VALUES ($name, 'builtin', $elf_path, $elf_sha256, $memory_mib, $description, $is_test, $now, $code_stamp, $keep_state, $max_instances)
                ON CONFLICT (name) DO UPDATE SET elf_path = excluded.elf_path, elf_sha256 = excluded.elf_sha256,
                    description = excluded.description, is_test = excluded.is_test, code_stamp = excluded.code_stamp,
                    keep_state = excluded.keep_state, max_instances = excluded.max_instances
                WHERE functions.kind = 'builtin'
                """);
            upsert.Parameters.AddWithValue("$name", name);
            upsert.Parameters.AddWithValue("$elf_path", function.ElfPath);
            upsert.Parameters.AddWithValue("$elf_sha256", function.Sha256);
            upsert.Parameters.AddWithValue("$memory_mib", MemorySize.DefaultMiB);
            upsert.Parameters.AddWithValue("$description", function.Description);
            upsert.Parameters.AddWithValue("$is_test", function.IsTestGuest);
            upsert.Parameters.AddWithValue("$now", now);
            upsert.Parameters.AddWithValue("$code_stamp", wantedStamps[name]);
            upsert.Parameters.AddWithValue("$keep_state", function.Settings.KeepState);
            upsert.Parameters.AddWithValue("$max_instances", function.Settings.MaxInstances is { } max ? max : DBNull.Value);
            upsert.ExecuteNonQuery();
        }
        foreach (var name in vanished)
        {
            using var delete = Command(connection, transaction, "DELETE FROM functions WHERE name = $name AND kind = 'builtin'");
            delete.Parameters.AddWithValue("$name", name);
            delete.ExecuteNonQuery();
        }
        transaction.Commit();
    }

    /// <summary>Code hashes computed by <see cref="SyncBuiltIns"/> (for tests: a start with nothing changed hashes none).</summary>
    public long Hashed => Interlocked.Read(ref _hashed);

    /// <summary>Registry reads made for one function or the list (for tests: an invocation reads the registry once).</summary>
    public long Reads => Interlocked.Read(ref _reads);

    /// <summary>The error for a name the registry does not know, listing the names it does.</summary>
    public UnknownFunctionException Unknown(string name) => new(name, List().Select(f => f.Name));

    /// <summary>A built-in script function's keep_state and max_instances, from its snapfn.json; the defaults for an
    /// ELF, or for a folder whose snapfn.json does not pass the checks (its snapshot says what is wrong with it).</summary>
    private static FunctionSettings BuiltInSettings(FunctionInfo function)
    {
        if (function.Runtime != FunctionRuntime.Script)
            return FunctionSettings.Default;
        try
        {
            return ScriptFunction.Manifest(function.CodePath).Settings;
        }
        catch (Exception e) when (e is InvalidRequestException or LimitExceededException or IOException)
        {
            return FunctionSettings.Default;
        }
    }

    private string Hash(FunctionInfo function)
    {
        Interlocked.Increment(ref _hashed);
        return GuestPrograms.CodeSha256(function);
    }

    public IReadOnlyList<RegisteredFunction> List()
    {
        Interlocked.Increment(ref _reads);
        using var connection = _database.OpenDurable();
        using var command = Command(connection, null, SelectFunctions + " ORDER BY kind = 'builtin', is_test, name");
        return ReadFunctions(connection, command);
    }

    public RegisteredFunction? Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!FunctionName.IsValid(name))
            return null;
        Interlocked.Increment(ref _reads);
        using var connection = _database.OpenDurable();
        using var command = Command(connection, null, SelectFunctions + " WHERE name = $name");
        command.Parameters.AddWithValue("$name", name);
        return ReadFunctions(connection, command).SingleOrDefault();
    }

    /// <summary>Everything serving one invocation needs (<see cref="ServingFunction"/>), in one read: the function's
    /// row with its snapshot, then the recordings of that snapshot, on one connection.</summary>
    public ServingFunction? FindServing(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!FunctionName.IsValid(name))
            return null;
        Interlocked.Increment(ref _reads);
        using var connection = _database.OpenDurable();
        using var transaction = connection.BeginTransaction(deferred: true);
        ServingFunction function;
        using (var command = Command(connection, transaction, """
            SELECT f.elf_path, f.description, f.is_test, f.memory_mib, f.keep_state, f.max_instances,
                s.snapshot_id, s.elf_sha256, s.state_sha256, s.memory_file, s.memory_mib, s.allocated_bytes, s.data_pages, s.taken_at
            FROM functions f LEFT JOIN snapshots s ON s.function = f.name WHERE f.name = $name
            """))
        {
            command.Parameters.AddWithValue("$name", name);
            using var reader = command.ExecuteReader();
            if (!reader.Read())
                return null;
            var settings = new FunctionSettings { KeepState = reader.GetBoolean(4), MaxInstances = reader.IsDBNull(5) ? null : reader.GetInt32(5) };
            var snapshot = reader.IsDBNull(6) ? null : ReadSnapshot(reader, 6);
            function = new ServingFunction(new FunctionInfo(name, reader.GetString(0), reader.GetString(1), reader.GetBoolean(2)),
                reader.GetInt32(3), settings, snapshot, []);
        }
        if (function.Snapshot is not { } current)
            return function;
        using var recordings = Command(connection, transaction, """
            SELECT mode, snapshot_id, path, sha256, pages, regions, file_bytes, recorded_at FROM recordings
            WHERE function = $name AND snapshot_id = $snapshot_id ORDER BY mode
            """);
        recordings.Parameters.AddWithValue("$name", name);
        recordings.Parameters.AddWithValue("$snapshot_id", current.SnapshotId.ToString());
        var list = new List<RecordingRecord>();
        using (var reader = recordings.ExecuteReader())
        {
            while (reader.Read())
                list.Add(ReadRecording(reader, 0));
        }
        return function with { Recordings = list };
    }

    /// <summary>Adds or replaces a user function whose ELF is already stored at <paramref name="elfPath"/>. A new
    /// ELF makes the old snapshot and recordings useless, so their rows go in the same transaction.</summary>
    public RegisteredFunction PutUser(string name, string elfPath, string elfSha256, int memoryMib, string description, FunctionSettings? settings = null)
    {
        settings ??= FunctionSettings.Default;
        using var connection = _database.OpenDurable();
        using var transaction = connection.BeginTransaction();
        var kind = KindOf(connection, transaction, name);
        if (kind == BuiltIn)
            throw new FunctionConflictException($"'{name}' is a built-in function: choose another name for yours");
        using (var forget = Command(connection, transaction, """
            DELETE FROM snapshots WHERE function = $name AND elf_sha256 <> $sha;
            DELETE FROM recordings WHERE function = $name AND NOT EXISTS (SELECT 1 FROM snapshots WHERE function = $name);
            """))
        {
            forget.Parameters.AddWithValue("$name", name);
            forget.Parameters.AddWithValue("$sha", elfSha256);
            forget.ExecuteNonQuery();
        }
        using (var upsert = Command(connection, transaction, """
            INSERT INTO functions (name, kind, elf_path, elf_sha256, memory_mib, description, is_test, registered_at, keep_state, max_instances)
            VALUES ($name, 'user', $elf_path, $elf_sha256, $memory_mib, $description, 0, $now, $keep_state, $max_instances)
            ON CONFLICT (name) DO UPDATE SET elf_path = excluded.elf_path, elf_sha256 = excluded.elf_sha256,
                memory_mib = excluded.memory_mib, description = excluded.description, registered_at = excluded.registered_at,
                keep_state = excluded.keep_state, max_instances = excluded.max_instances
            """))
        {
            upsert.Parameters.AddWithValue("$name", name);
            upsert.Parameters.AddWithValue("$elf_path", elfPath);
            upsert.Parameters.AddWithValue("$elf_sha256", elfSha256);
            upsert.Parameters.AddWithValue("$memory_mib", memoryMib);
            upsert.Parameters.AddWithValue("$description", description);
            upsert.Parameters.AddWithValue("$now", Now());
            upsert.Parameters.AddWithValue("$keep_state", settings.KeepState);
            upsert.Parameters.AddWithValue("$max_instances", settings.MaxInstances is { } max ? max : DBNull.Value);
            upsert.ExecuteNonQuery();
        }
        transaction.Commit();
        return Find(name)!;
    }

    /// <summary>Removes a user function (its snapshot and recording rows go with it); false when there is none.</summary>
    public bool DeleteUser(string name)
    {
        using var connection = _database.OpenDurable();
        using var transaction = connection.BeginTransaction();
        var kind = KindOf(connection, transaction, name);
        if (kind is null)
            return false;
        if (kind == BuiltIn)
            throw new FunctionConflictException($"'{name}' is a built-in function and cannot be deleted");
        using var delete = Command(connection, transaction, "DELETE FROM functions WHERE name = $name");
        delete.Parameters.AddWithValue("$name", name);
        delete.ExecuteNonQuery();
        transaction.Commit();
        return true;
    }

    /// <summary>Records the function's new snapshot; recordings of the previous one no longer apply.</summary>
    public void PutSnapshot(string name, SnapshotRecord snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        using var connection = _database.OpenDurable();
        using var transaction = connection.BeginTransaction();
        using var command = Command(connection, transaction, """
            DELETE FROM recordings WHERE function = $name AND snapshot_id <> $snapshot_id;
            INSERT OR REPLACE INTO snapshots (function, snapshot_id, elf_sha256, state_sha256, memory_file, memory_mib,
                allocated_bytes, data_pages, taken_at)
            VALUES ($name, $snapshot_id, $elf_sha256, $state_sha256, $memory_file, $memory_mib, $allocated_bytes, $data_pages, $taken_at);
            """);
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$snapshot_id", snapshot.SnapshotId.ToString());
        command.Parameters.AddWithValue("$elf_sha256", snapshot.ElfSha256);
        command.Parameters.AddWithValue("$state_sha256", snapshot.StateSha256);
        command.Parameters.AddWithValue("$memory_file", snapshot.MemoryFile);
        command.Parameters.AddWithValue("$memory_mib", snapshot.MemoryMib);
        command.Parameters.AddWithValue("$allocated_bytes", snapshot.AllocatedBytes);
        command.Parameters.AddWithValue("$data_pages", snapshot.DataPages);
        command.Parameters.AddWithValue("$taken_at", Format(snapshot.TakenAt));
        command.ExecuteNonQuery();
        transaction.Commit();
    }

    public void PutRecording(string name, RecordingRecord recording)
    {
        ArgumentNullException.ThrowIfNull(recording);
        using var connection = _database.OpenDurable();
        using var command = Command(connection, null, """
            INSERT OR REPLACE INTO recordings (function, mode, snapshot_id, path, sha256, pages, regions, file_bytes, recorded_at)
            VALUES ($name, $mode, $snapshot_id, $path, $sha256, $pages, $regions, $file_bytes, $recorded_at)
            """);
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$mode", recording.Mode);
        command.Parameters.AddWithValue("$snapshot_id", recording.SnapshotId.ToString());
        command.Parameters.AddWithValue("$path", recording.Path);
        command.Parameters.AddWithValue("$sha256", recording.Sha256);
        command.Parameters.AddWithValue("$pages", recording.Pages);
        command.Parameters.AddWithValue("$regions", recording.Regions);
        command.Parameters.AddWithValue("$file_bytes", recording.FileBytes);
        command.Parameters.AddWithValue("$recorded_at", Format(recording.RecordedAt));
        command.ExecuteNonQuery();
    }

    public static string Sha256Of(string path)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(file));
    }

    private const string SelectFunctions =
        "SELECT name, kind, elf_path, elf_sha256, memory_mib, description, is_test, registered_at, keep_state, max_instances FROM functions";

    private static List<RegisteredFunction> ReadFunctions(SqliteConnection connection, SqliteCommand command)
    {
        var functions = new List<RegisteredFunction>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                functions.Add(new RegisteredFunction
                {
                    Name = reader.GetString(0),
                    Kind = reader.GetString(1) == User ? FunctionKind.User : FunctionKind.BuiltIn,
                    ElfPath = reader.GetString(2),
                    ElfSha256 = reader.GetString(3),
                    MemoryMib = reader.GetInt32(4),
                    Description = reader.GetString(5),
                    IsTestGuest = reader.GetBoolean(6),
                    RegisteredAt = Parse(reader.GetString(7)),
                    Settings = new FunctionSettings { KeepState = reader.GetBoolean(8), MaxInstances = reader.IsDBNull(9) ? null : reader.GetInt32(9) },
                });
            }
        }
        var snapshots = ReadSnapshots(connection);
        var recordings = ReadRecordings(connection);
        return functions.Select(f => f with
        {
            Snapshot = snapshots.GetValueOrDefault(f.Name),
            Recordings = recordings.TryGetValue(f.Name, out var list) ? list : [],
        }).ToList();
    }

    private static Dictionary<string, SnapshotRecord> ReadSnapshots(SqliteConnection connection)
    {
        using var command = Command(connection, null, """
            SELECT function, snapshot_id, elf_sha256, state_sha256, memory_file, memory_mib, allocated_bytes, data_pages, taken_at
            FROM snapshots
            """);
        using var reader = command.ExecuteReader();
        var result = new Dictionary<string, SnapshotRecord>(StringComparer.Ordinal);
        while (reader.Read())
        {
            result[reader.GetString(0)] = ReadSnapshot(reader, 1);
        }
        return result;
    }

    private static Dictionary<string, List<RecordingRecord>> ReadRecordings(SqliteConnection connection)
    {
        using var command = Command(connection, null, """
            SELECT function, mode, snapshot_id, path, sha256, pages, regions, file_bytes, recorded_at FROM recordings ORDER BY function, mode
            """);
        using var reader = command.ExecuteReader();
        var result = new Dictionary<string, List<RecordingRecord>>(StringComparer.Ordinal);
        while (reader.Read())
        {
            var name = reader.GetString(0);
            if (!result.TryGetValue(name, out var list))
                result[name] = list = [];
            list.Add(ReadRecording(reader, 1));
        }
        return result;
    }

    /// <summary>A recording row whose mode is column <paramref name="first"/>, followed by snapshot_id, path, sha256,
    /// pages, regions, file_bytes, recorded_at.</summary>
    /// <summary>A snapshots row's columns, in table order, from column <paramref name="first"/> on.</summary>
    private static SnapshotRecord ReadSnapshot(SqliteDataReader reader, int first) => new()
    {
        SnapshotId = Guid.Parse(reader.GetString(first)),
        ElfSha256 = reader.GetString(first + 1),
        StateSha256 = reader.GetString(first + 2),
        MemoryFile = reader.GetString(first + 3),
        MemoryMib = reader.GetInt32(first + 4),
        AllocatedBytes = reader.GetInt64(first + 5),
        DataPages = reader.GetInt64(first + 6),
        TakenAt = Parse(reader.GetString(first + 7)),
    };

    private static RecordingRecord ReadRecording(SqliteDataReader reader, int first) => new()
    {
        Mode = reader.GetString(first),
        SnapshotId = Guid.Parse(reader.GetString(first + 1)),
        Path = reader.GetString(first + 2),
        Sha256 = reader.GetString(first + 3),
        Pages = reader.GetInt64(first + 4),
        Regions = reader.GetInt32(first + 5),
        FileBytes = reader.GetInt64(first + 6),
        RecordedAt = Parse(reader.GetString(first + 7)),
    };

    private static string? KindOf(SqliteConnection connection, SqliteTransaction transaction, string name)
    {
        using var command = Command(connection, transaction, "SELECT kind FROM functions WHERE name = $name");
        command.Parameters.AddWithValue("$name", name);
        return command.ExecuteScalar() as string;
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    private static string Now() => Format(DateTimeOffset.UtcNow);

    public static string Format(DateTimeOffset time) => time.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    public static DateTimeOffset Parse(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
}
