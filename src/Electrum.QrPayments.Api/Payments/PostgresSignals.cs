using Npgsql;

namespace Electrum.QrPayments.Api.Payments;

/// <summary>Signals between instances over PostgreSQL NOTIFY on one channel.</summary>
public sealed partial class PostgresSignalTransport(NpgsqlDataSource dataSource, ILogger<PostgresSignalTransport> logger) : ISignalTransport
{
    public const string Channel = "qr_signals";

    public async Task PublishAsync(string key)
    {
        try
        {
            await using var command = dataSource.CreateCommand($"SELECT pg_notify('{Channel}', $1)");
            command.Parameters.Add(new NpgsqlParameter { Value = key });
            await command.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException e)
        {
            // Not fatal: waiters on other instances re-read the database shortly anyway.
            LogPublishFailed(logger, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not publish a signal to other instances")]
    private static partial void LogPublishFailed(ILogger logger, Exception exception);
}

/// <summary>LISTENs on the signal channel and wakes local waiters; reconnects after a failure.</summary>
public sealed partial class PostgresSignalListener(NpgsqlDataSource dataSource, Signals signals, ILogger<PostgresSignalListener> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, e) => signals.NotifyLocal(e.Payload);
                await using (var listen = new NpgsqlCommand($"LISTEN {PostgresSignalTransport.Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                while (!stoppingToken.IsCancellationRequested)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or System.IO.IOException or TimeoutException)
            {
                LogListenFailed(logger, e);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Signal listener lost its connection; reconnecting")]
    private static partial void LogListenFailed(ILogger logger, Exception exception);
}
