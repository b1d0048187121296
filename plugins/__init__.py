"""Platform plugins of arcadence: one package per accounting platform, same file names in each."""
