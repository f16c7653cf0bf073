using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>
/// A real PostgreSQL server (Debian's package) for the tests: initdb into a temp directory, started on a free loopback
/// port with its socket in that directory, stopped and deleted at the end. As root it runs as the 'postgres' user
/// (initdb refuses root). Each test gets its own database from <see cref="CreateDatabaseAsync"/>.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private string _dir = "";
    private string _bin = "";
    private string? _runAs;

    public int Port { get; private set; }

    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port.ToString(CultureInfo.InvariantCulture)};Username=centre;Database={database};Pooling=true;Timeout=15";

    public async Task InitializeAsync()
    {
        _bin = FindBin();
        _dir = Directory.CreateTempSubdirectory("centre-pg-").FullName;
        Port = IntegrationTests.MosquittoBroker.FreePort();
        if (Environment.UserName == "root")
        {
            _runAs = "postgres";
            await RunAsync("chown", "-R", "postgres:postgres", _dir);
        }

        var data = Path.Combine(_dir, "data");
        await RunAsync(Tool("initdb"), "-D", data, "-U", "centre", "--auth=trust", "--encoding=UTF8", "--no-sync");
        await RunAsync(Tool("pg_ctl"), "-D", data, "-l", Path.Combine(_dir, "log"), "-w", "-t", "60", "start",
            "-o", $"-p {Port.ToString(CultureInfo.InvariantCulture)} -k {_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off");
    }

    public async Task<string> CreateDatabaseAsync()
    {
        var name = "t" + Guid.NewGuid().ToString("N")[..16];
        await using var db = new NpgsqlConnection(ConnectionString("postgres"));
        await db.OpenAsync();
        await using var cmd = db.CreateCommand();
#pragma warning disable CA2100 // the name is generated here from hex digits
        cmd.CommandText = $"CREATE DATABASE {name}";
#pragma warning restore CA2100
        await cmd.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    public async Task DisposeAsync()
    {
        try
        {
            await RunAsync(Tool("pg_ctl"), "-D", Path.Combine(_dir, "data"), "-m", "immediate", "-w", "stop");
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            try
            {
                Directory.Delete(_dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private string Tool(string name) => Path.Combine(_bin, name);

    private async Task RunAsync(string file, params string[] args)
    {
        var info = _runAs is not null && file != "chown"
            ? new ProcessStartInfo("runuser", ["-u", _runAs, "--", file, .. args])
            : new ProcessStartInfo(file, args);
        info.RedirectStandardError = true;
        info.RedirectStandardOutput = true;
        info.UseShellExecute = false;
        info.WorkingDirectory = _dir;
        using var p = Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
        {
            var log = File.Exists(Path.Combine(_dir, "log")) ? await File.ReadAllTextAsync(Path.Combine(_dir, "log")) : "";
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {p.ExitCode}: {await stdout} {await stderr} {log}");
        }
    }

    private static string FindBin()
    {
        var root = "/usr/lib/postgresql";
        var bin = Directory.Exists(root)
            ? Directory.GetDirectories(root).Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb"))).OrderByDescending(d => d, StringComparer.Ordinal).FirstOrDefault()
            : null;
        return bin ?? throw new InvalidOperationException("PostgreSQL is not installed: run ./test.sh, which installs it (apt-get install postgresql).");
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresGroup : ICollectionFixture<PostgresServer>
{
    public const string Name = "PostgreSQL server";
}
