import threading

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def leaf(n):
    s = 0
    for i in range(n):
        s += i * i
    return s

def work():
    for _ in range(30):
        fib(18)
        leaf(20000)

def main():
    t = threading.Thread(target=work)
    t.start()
    work()
    t.join()

if __name__ == "__main__":
    main()
