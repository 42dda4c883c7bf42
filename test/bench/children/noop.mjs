/** Node's own start-up and exit, the floor under every whole-process figure. */
