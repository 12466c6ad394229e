// Placeholder until the web app lands.
