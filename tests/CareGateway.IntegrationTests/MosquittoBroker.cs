using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace CareGateway.IntegrationTests;

/// <summary>
/// A real Mosquitto broker (Debian's package) for one test: its own free loopback port, config and data directory,
/// started here and killed on dispose. <see cref="StopAsync"/> and <see cref="StartAsync()"/> let fault tests restart it
/// on the same port with its persistence kept.
/// </summary>
public sealed class MosquittoBroker : IAsyncDisposable
{
    private readonly string _dir;
    private readonly StringBuilder _log = new();
    private Process? _process;

    private MosquittoBroker(string dir, int port, string extraConfig)
    {
        _dir = dir;
        Port = port;
        ConfigPath = Path.Combine(dir, "mosquitto.conf");
        File.WriteAllText(ConfigPath, string.Create(CultureInfo.InvariantCulture, $"""
            listener {port} 127.0.0.1
            allow_anonymous true
            persistence true
            persistence_location {dir}/
            autosave_interval 1
            set_tcp_nodelay true
            max_queued_messages 100000
            log_dest stderr
            log_type error
            log_type warning
            log_type notice
            {extraConfig}
            """));
    }

    public int Port { get; }

#pragma warning disable CA1822 // an instance property reads naturally beside Port
    public string Host => "127.0.0.1";
#pragma warning restore CA1822

    public string ConfigPath { get; }

    /// <summary>What the broker wrote to stderr so far (for failure messages).</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public static string Executable { get; } = FindExecutable();

    public static async Task<MosquittoBroker> StartAsync(string extraConfig = "")
    {
        for (var attempt = 1; ; attempt++)
        {
            var dir = Directory.CreateTempSubdirectory("mosquitto-").FullName;
            var broker = new MosquittoBroker(dir, FreePort(), extraConfig);
            try
            {
                await broker.StartAsync();
                return broker;
            }
            catch (InvalidOperationException ex) when (attempt < 3 && ex.Message.Contains("Address already in use", StringComparison.Ordinal))
            {
                // Another process took the port between the check and the bind: once more on another port.
                await broker.DisposeAsync();
            }
        }
    }

    public async Task StartAsync()
    {
        var info = new ProcessStartInfo(Executable, ["-c", ConfigPath])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        _process = Process.Start(info) ?? throw new InvalidOperationException("mosquitto did not start");
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"mosquitto exited with {_process.ExitCode}: {Log}");
            }

            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(25);
            }
        }

        throw new TimeoutException($"mosquitto did not listen on {Port} within 15 s: {Log}");
    }

    /// <summary>Stops the broker like a crash (SIGKILL) or cleanly (SIGTERM, persistence saved).</summary>
    public async Task StopAsync(bool kill = false)
    {
        if (_process is null || _process.HasExited)
        {
            return;
        }

        if (kill)
        {
            _process.Kill();
        }
        else
        {
            using var term = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]);
            await term!.WaitForExitAsync();
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(kill: true);
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static readonly HashSet<int> Given = [];

    /// <summary>
    /// A loopback port nothing listens on, never the same twice in this process. Taken below Linux's ephemeral range
    /// (32768 and up), where the kernel picks the source ports of outgoing connections: a port the kernel handed out
    /// as "free" could be taken by any client connection before the broker binds it (seen in CI as "Address already in
    /// use" under load).
    /// </summary>
    public static int FreePort()
    {
        for (var attempt = 0; ; attempt++)
        {
            int port;
            lock (Given)
            {
                port = Random.Shared.Next(20_000, 32_000);
                if (!Given.Add(port))
                {
                    continue;
                }
            }

            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException) when (attempt < 200)
            {
                // in use by another process: the next one
            }
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }

    private static string FindExecutable()
    {
        foreach (var candidate in new[] { "/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto" })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("mosquitto is not installed: run ./test.sh, which installs it (apt-get install mosquitto).");
    }
}
