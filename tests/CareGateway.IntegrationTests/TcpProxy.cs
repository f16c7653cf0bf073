using System.Net;
using System.Net.Sockets;

namespace CareGateway.IntegrationTests;

/// <summary>
/// A TCP proxy on a free loopback port in front of a loopback target, which a fault test controls: <see cref="Cut"/>
/// breaks the network path either loudly (every connection reset, new ones refused) or silently (connections stay open
/// but no byte gets through, like a dead mobile link), and <see cref="Restore"/> mends it.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _life = new();
    private readonly Lock _gate = new();
    private readonly List<(TcpClient Client, TcpClient Upstream)> _pairs = [];
    private readonly Task _acceptLoop;
    private volatile CutMode _cut = CutMode.None;

    public TcpProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptLoopAsync(_life.Token);
    }

    public enum CutMode
    {
        None,

        /// <summary>Every connection is reset and new ones are closed at once.</summary>
        Reset,

        /// <summary>Connections stay open (and new ones are accepted) but nothing is forwarded: a silent, half-open path.</summary>
        Blackhole,
    }

    public int Port { get; }

    /// <summary>Connections accepted so far (each reconnect attempt of the gateway is one).</summary>
    public int Accepted { get; private set; }

    public void Cut(CutMode mode)
    {
        _cut = mode;
        if (mode == CutMode.Reset)
        {
            CloseAll();
        }
    }

    /// <summary>Mends the path. Connections that lived through a blackhole are closed: their byte streams have holes.</summary>
    public void Restore()
    {
        var was = _cut;
        _cut = CutMode.None;
        if (was == CutMode.Blackhole)
        {
            CloseAll();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _life.CancelAsync();
        _listener.Stop();
        CloseAll();
        try
        {
            await _acceptLoop;
        }
        catch (OperationCanceledException)
        {
        }

        _life.Dispose();
    }

    private async Task AcceptLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(ct);
            }
            catch (Exception) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }

            Accepted++;
            if (_cut == CutMode.Reset)
            {
                client.Client.LingerState = new LingerOption(true, 0);
                client.Dispose();
                continue;
            }

            var upstream = new TcpClient();
            try
            {
                await upstream.ConnectAsync(IPAddress.Loopback, _targetPort, ct);
            }
            catch (SocketException)
            {
                // The target is down: behave like it, close the client.
                client.Dispose();
                upstream.Dispose();
                continue;
            }

            lock (_gate)
            {
                _pairs.Add((client, upstream));
            }

            _ = PumpAsync(client, upstream, ct);
            _ = PumpAsync(upstream, client, ct);
        }
    }

    private async Task PumpAsync(TcpClient from, TcpClient to, CancellationToken ct)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            var input = from.GetStream();
            var output = to.GetStream();
            while (!ct.IsCancellationRequested)
            {
                var n = await input.ReadAsync(buffer, ct);
                if (n == 0)
                {
                    break;
                }

                if (_cut == CutMode.Blackhole)
                {
                    continue; // swallowed by the dead link
                }

                await output.WriteAsync(buffer.AsMemory(0, n), ct);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
        }

        Close(from, to);
    }

    private void Close(TcpClient a, TcpClient b)
    {
        lock (_gate)
        {
            _pairs.RemoveAll(p => (p.Client == a && p.Upstream == b) || (p.Client == b && p.Upstream == a));
        }

        a.Dispose();
        b.Dispose();
    }

    private void CloseAll()
    {
        List<(TcpClient Client, TcpClient Upstream)> pairs;
        lock (_gate)
        {
            pairs = [.. _pairs];
            _pairs.Clear();
        }

        foreach (var (client, upstream) in pairs)
        {
            try
            {
                client.Client.LingerState = new LingerOption(true, 0); // RST, not FIN: an abrupt loss
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }

            client.Dispose();
            upstream.Dispose();
        }
    }
}
